/**
 * Chat messages -> prompt token ids, through the model's own chat template (tokenizer_config's
 * `chat_template` or chat_template.jinja, rendered with @huggingface/jinja as transformers does).
 * The rendered text already holds the template's BOS, so it is encoded without special tokens.
 */
import { Template } from "@huggingface/jinja";
import type { TextCodec } from "../model/tokenizer.ts";
import { ApiError } from "./api-error.ts";
import type { ChatMessage } from "./requests.ts";

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

export function renderChat(codec: TextCodec, messages: readonly ChatMessage[]): string {
  const t = template(codec);
  const cfg = codec.config;
  try {
    return t.render({
      messages,
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

/** Prompt ids for a chat request. */
export function chatPromptIds(codec: TextCodec, messages: readonly ChatMessage[]): number[] {
  return codec.encode(renderChat(codec, messages), false);
}
