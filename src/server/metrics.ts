/**
 * Serving counters in Prometheus' text format. Counters only ever grow (rates come from the
 * scraper); gauges describe now. Speculative figures follow vLLM's names: drafts, drafted and
 * accepted tokens, and accepted tokens per draft position.
 */
import type { SpecStats } from "../engine/spec-stats.ts";

export interface DraftStep {
  /** Draft tokens the model accepted at one verification step (the bonus token not counted). */
  accepted: number;
}

type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

class LabelledCounter {
  readonly values = new Map<string, number>();
  add(labels: Labels, n = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + n);
  }
  get(labels: Labels): number {
    return this.values.get(key(labels)) ?? 0;
  }
}

export class Metrics {
  running = 0;
  queued = 0;
  ready = false;
  readonly requests = new LabelledCounter(); // route, status
  readonly rejected = new LabelledCounter(); // reason
  readonly aborted = new LabelledCounter(); // reason
  promptTokens = 0;
  generatedTokens = 0;
  prefillSeconds = 0;
  decodeSeconds = 0;
  lastTokensPerSecond = 0;
  generations = 0;
  steps = 0;
  drafts = 0;
  draftTokens = 0;
  acceptedTokens = 0;
  /** acceptedPerPosition[i]: drafts whose position i+1 was accepted. */
  readonly acceptedPerPosition: number[] = [];
  readonly drafterDrafted = new LabelledCounter(); // drafter
  readonly drafterAccepted = new LabelledCounter(); // drafter

  /** One finished generation (completed, stopped or aborted), with the drafts it verified. */
  recordGeneration(stats: SpecStats, drafts: readonly DraftStep[]): void {
    this.generations++;
    this.promptTokens += stats.promptTokens;
    this.generatedTokens += stats.tokens;
    this.prefillSeconds += stats.prefillMs / 1000;
    this.decodeSeconds += stats.decodeMs / 1000;
    // A generation that decoded nothing (echo scoring, aborted before its first token) has no speed: the gauge keeps the last one.
    if (stats.tokens > 0) this.lastTokensPerSecond = stats.tokensPerSecond;
    this.steps += stats.steps;
    this.draftTokens += stats.draftedTokens;
    this.acceptedTokens += stats.acceptedTokens;
    this.drafts += drafts.length;
    for (const d of drafts) {
      for (let i = 0; i < d.accepted; i++) this.acceptedPerPosition[i] = (this.acceptedPerPosition[i] ?? 0) + 1;
    }
    for (const [name, s] of Object.entries(stats.perDrafter)) {
      this.drafterDrafted.add({ drafter: name }, s.drafted);
      this.drafterAccepted.add({ drafter: name }, s.accepted);
    }
  }

  render(): string {
    const out: string[] = [];
    const metric = (name: string, type: "counter" | "gauge", help: string, rows: [string, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) out.push(`${name}${labels ? `{${labels}}` : ""} ${Number.isInteger(v) ? v : v.toFixed(6)}`);
    };
    const one = (v: number): [string, number][] => [["", v]];
    const all = (c: LabelledCounter): [string, number][] => [...c.values.entries()];
    metric("edgespec_model_ready", "gauge", "1 when the model is loaded and serving", one(this.ready ? 1 : 0));
    metric("edgespec_requests_running", "gauge", "generations running now (at most 1 per model)", one(this.running));
    metric("edgespec_requests_queued", "gauge", "requests waiting to start (a batch between two prompts is running, not queued)", one(this.queued));
    metric("edgespec_http_requests_total", "counter", "HTTP requests answered, by route and status", all(this.requests));
    metric("edgespec_requests_rejected_total", "counter", "requests refused before generation, by reason", all(this.rejected));
    metric("edgespec_requests_aborted_total", "counter", "generations stopped early, by reason", all(this.aborted));
    metric("edgespec_generations_total", "counter", "generations run (finished or aborted)", one(this.generations));
    metric("edgespec_prompt_tokens_total", "counter", "prompt tokens prefilled", one(this.promptTokens));
    metric("edgespec_generation_tokens_total", "counter", "tokens generated", one(this.generatedTokens));
    metric("edgespec_prefill_seconds_total", "counter", "seconds spent in prefill", one(this.prefillSeconds));
    metric("edgespec_decode_seconds_total", "counter", "seconds spent decoding after prefill", one(this.decodeSeconds));
    metric("edgespec_tokens_per_second", "gauge", "decoding speed of the last generation that decoded a token", one(this.lastTokensPerSecond));
    metric("edgespec_decode_steps_total", "counter", "model forwards after prefill (verification steps)", one(this.steps));
    metric("edgespec_spec_decode_num_drafts_total", "counter", "steps that verified a non-empty draft", one(this.drafts));
    metric("edgespec_spec_decode_num_draft_tokens_total", "counter", "draft tokens verified", one(this.draftTokens));
    metric("edgespec_spec_decode_num_accepted_tokens_total", "counter", "draft tokens accepted", one(this.acceptedTokens));
    metric(
      "edgespec_spec_decode_num_accepted_tokens_per_pos_total",
      "counter",
      "drafts whose token at this position (1 = first after the root) was accepted",
      this.acceptedPerPosition.map((v, i) => [key({ position: String(i + 1) }), v]),
    );
    metric("edgespec_spec_decode_drafter_draft_tokens_total", "counter", "draft tokens verified, by drafter source", all(this.drafterDrafted));
    metric("edgespec_spec_decode_drafter_accepted_tokens_total", "counter", "draft tokens accepted, by drafter source", all(this.drafterAccepted));
    return `${out.join("\n")}\n`;
  }
}

/** One sample's value from Prometheus text (for tests and the load bench); undefined if absent. */
export function sampleValue(text: string, name: string, labels: Labels = {}): number | undefined {
  const want = Object.keys(labels).length ? `${name}{${key(labels)}}` : name;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${want} `)) return Number(line.slice(want.length + 1));
  }
  return undefined;
}
