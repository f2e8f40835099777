/**
 * `edgespec chat`: a conversation on the terminal. Each line is a user message; the answer streams
 * as it is decided, through the model's chat template, then one line of figures (tokens, tokens/s,
 * tokens per step). `/reset` forgets the conversation, `/exit` (or end of input) leaves. Works on
 * piped input too, so it can be scripted and tested.
 */
import { PARAM_DEFAULTS as D } from "../decode/params.ts";
import { checkSampling } from "../decode/sampler.ts";
import { DRAFTER_NAMES } from "../engine/drafting.ts";
import { generate } from "../engine/speculative.ts";
import { prepareCostCurve } from "../engine/cost-curves.ts";
import type { Host } from "../host.ts";
import { chatPromptIds } from "../server/chat.ts";
import type { ChatMessage } from "../model/chat-messages.ts";
import { EdgespecError } from "../errors.ts";
import { type FlagSpec, flagFailure, parseFlags, usage } from "./args.ts";
import type { CliIO, CliRuntime } from "./io.ts";
import { CORPUS_FLAG, flagsForHelp, MODEL_FLAGS, setUpFrom } from "./model-flags.ts";

export const CHAT_FLAGS: FlagSpec = {
  ...MODEL_FLAGS,
  ...CORPUS_FLAG,
  system: { type: "string", help: "a system message that opens the conversation" },
  "max-tokens": { type: "int", short: "n", help: "new tokens per answer at most", default: String(D.maxTokens) },
  temperature: { type: "number", short: "t", help: "0 = greedy, up to 2", default: String(D.temperature) },
  seed: { type: "int", help: "sampling seed" },
  drafter: { type: "string", short: "d", help: DRAFTER_NAMES.join("|"), default: "hybrid" },
  help: { type: "boolean", help: "show this help" },
};

const COMMANDS_HELP = "type a message; /reset forgets the conversation, /exit leaves";

export async function chatCommand(host: Host, argv: string[], io: CliIO, rt: CliRuntime = {}): Promise<number> {
  const f = parseFlags(argv, CHAT_FLAGS);
  if (f.help) {
    io.out(`${usage("chat", flagsForHelp(host, CHAT_FLAGS, rt))}\n${COMMANDS_HELP}\n`);
    return 0;
  }
  if (!io.lines) throw new EdgespecError("not_ready", "chat needs standard input, which this runtime does not give");
  const sampling = { maxTokens: f["max-tokens"] as number | undefined, temperature: f.temperature as number | undefined, seed: f.seed as number | undefined };
  checkSampling(sampling, flagFailure);
  const drafterName = (f.drafter as string | undefined) ?? "hybrid";
  const setup = await setUpFrom(host, f, io, { drafter: drafterName }, rt);
  const { model } = setup;
  const drafter = setup.drafter(drafterName);
  // The verify cost curve is timed while the user types the first message (warming the model's
  // code too), so the first answer's trees are sized on it; each answer waits for it (no forward
  // may overlap it).
  const curve = drafter ? prepareCostCurve(model.lm) : Promise.resolve();
  const opening: ChatMessage[] = f.system === undefined ? [] : [{ role: "system", content: f.system as string }];
  let history = [...opening];
  const prompt = () => io.interactive && io.err("> ");
  try {
    // A system message that leaves no room would make every message fail, /reset included (it
    // keeps the system message): refused at once.
    const context = model.lm.spec.contextLength;
    const openingTokens = opening.length === 0 ? 0 : chatPromptIds(model.tokenizer, opening).length;
    if (openingTokens >= context) throw new EdgespecError("invalid_argument", `--system: the system message has ${openingTokens} tokens but the context holds ${context}`);
    if (io.interactive) io.err(`${COMMANDS_HELP}\n`);
    prompt();
    for await (const raw of io.lines()) {
      const line = raw.trim();
      if (line === "/exit" || line === "/quit") break;
      if (line === "/reset") {
        history = [...opening];
        io.err("(conversation reset)\n");
      } else if (line.length > 0) {
        history.push({ role: "user", content: line });
        try {
          await curve;
          const r = await generate(model, chatPromptIds(model.tokenizer, history), { ...sampling, drafter, onText: (t) => io.out(t) });
          history.push({ role: "assistant", content: r.text });
          const s = r.stats;
          io.out("\n");
          io.err(`(${s.tokens} tokens, ${s.tokensPerSecond} tok/s${drafter ? `, ${s.meanAcceptedLength} tokens/step` : ""})\n`);
        } catch (e) {
          if (!(e instanceof EdgespecError && e.code === "prompt_too_long")) throw e;
          history.pop();
          // Alone after the opening, the message itself is too long: /reset would not help.
          io.err(history.length === opening.length ? `(this message does not fit the model's context of ${context} tokens: send a shorter one)\n` : `(the conversation no longer fits the model's context: /reset to start again)\n`);
        }
      }
      prompt();
    }
  } finally {
    await curve;
    await setup.close();
  }
  return 0;
}
