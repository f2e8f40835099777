/**
 * Chat messages -> prompt token ids, through the model's own chat template (tokenizer_config's
 * `chat_template` or chat_template.jinja, rendered with @huggingface/jinja as transformers does).
 * The rendered text already holds the template's BOS, so it is encoded without special tokens.
 */
import { Template } from "@huggingface/jinja";
import type { TextCodec } from "../model/tokenizer.ts";
import { ApiError } from "./api-error.ts";
import type { ChatMessage } from "../model/chat-messages.ts";

const compiled = new WeakMap<TextCodec, Template>();

/** Special tokens may be plain strings or AddedToken objects ({content: "..."}) in tokenizer_config. */
function tokenString(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return undefined;
}

function template(codec: TextCodec): Template {
  let t = compiled.get(codec);
  if (t) return t;
  const src = codec.chatTemplate;
  if (!src) {
    throw new ApiError(400, "this model has no chat template (tokenizer_config.json chat_template or chat_template.jinja); use /v1/completions", "invalid_request_error", "messages", "chat_template_missing");
  }
  try {
    t = new Template(src);
  } catch (e) {
    throw new ApiError(400, `the model's chat template cannot be parsed: ${(e as Error).message}`, "invalid_request_error", "messages", "chat_template_invalid");
  }
  compiled.set(codec, t);
  return t;
}

/**
 * OpenAI's "developer" role is its newer name for "system"; a template that does not name it
 * (most open models': they know system, user, assistant) gets it as "system", instead of an
 * unknown role printed as is or refused by the template's raise_exception.
 */
function forTemplate(codec: TextCodec, messages: readonly ChatMessage[]): readonly ChatMessage[] {
  if (codec.chatTemplate?.includes("developer") || !messages.some((m) => m.role === "developer")) return messages;
  return messages.map((m) => (m.role === "developer" ? { ...m, role: "system" } : m));
}

export function renderChat(codec: TextCodec, messages: readonly ChatMessage[]): string {
  const t = template(codec);
  const cfg = codec.config;
  try {
    return t.render({
      messages: forTemplate(codec, messages),
      add_generation_prompt: true,
      bos_token: tokenString(cfg.bos_token) ?? "",
      eos_token: tokenString(cfg.eos_token) ?? "",
      unk_token: tokenString(cfg.unk_token) ?? "",
      pad_token: tokenString(cfg.pad_token) ?? "",
    });
  } catch (e) {
    // Templates reject conversations they do not support with raise_exception (e.g. role order).
    throw new ApiError(400, `the chat template rejected these messages: ${(e as Error).message}`, "invalid_request_error", "messages", "invalid_messages");
  }
}

/**
 * Prompt ids for a chat request. Control tokens come only from the template: a message whose
 * content holds a special token's string (e.g. "</s>") has that string encoded as plain text, so a
 * user cannot end the turn or forge one. Without such strings the ids are exactly those of the
 * rendered text, as transformers' apply_chat_template gives them.
 */
export function chatPromptIds(codec: TextCodec, messages: readonly ChatMessage[]): number[] {
  // The fields a template reads beside content are rendered into its text, whose control-token
  // strings become control tokens: one there would forge a turn, so it is refused.
  messages.forEach((m, i) => {
    for (const [field, value] of [["name", m.name], ["tool_call_id", m.tool_call_id], ["tool_calls", m.tool_calls && JSON.stringify(m.tool_calls)]] as const) {
      if (value && codec.specialTokens.some((t) => value.includes(t))) {
        throw new ApiError(400, `messages[${i}].${field} holds a control token string`, "invalid_request_error", `messages[${i}].${field}`, "control_token_in_content");
      }
    }
  });
  if (!messages.some((m) => codec.specialTokens.some((t) => m.content.includes(t)))) return codec.encode(renderChat(codec, messages), false);
  // Render with a sentinel in place of each content, then encode template text and contents apart.
  const sentinel = (i: number) => `\u{E000}edgespec-content-${i}\u{E001}`;
  const rendered = renderChat(codec, messages.map((m, i) => ({ ...m, content: sentinel(i) })));
  const ids: number[] = [];
  let rest = rendered;
  messages.forEach((m, i) => {
    const at = rest.indexOf(sentinel(i));
    if (at < 0) {
      throw new ApiError(400, `messages[${i}].content holds a control token string, which this model's chat template cannot keep apart`, "invalid_request_error", `messages[${i}].content`, "control_token_in_content");
    }
    if (at > 0) ids.push(...codec.encode(rest.slice(0, at), false));
    ids.push(...codec.encodePlain(m.content));
    rest = rest.slice(at + sentinel(i).length);
  });
  if (rest) ids.push(...codec.encode(rest, false));
  return ids;
}
