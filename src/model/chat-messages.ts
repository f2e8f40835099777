/**
 * Chat messages as edgespec takes them, and the one rule for their roles: the server (an OpenAI
 * body's `messages`), the library (`lm.chat`) and the CLI's chat all accept the same roles, and
 * refuse any other with the same words, before the model's chat template sees them.
 */

/** OpenAI's chat roles ("developer" is its newer name for "system"). */
export const CHAT_ROLES = ["system", "developer", "user", "assistant", "tool"] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

/**
 * `role` is typed as text, not ChatRole: messages built in a variable infer `string`, and every
 * entry checks the role at run time (checkChatRole).
 */
export interface ChatMessage {
  role: string;
  content: string;
  /** Read by some chat templates (the speaker's name); passed to the template as given. */
  name?: string;
  /** A tool result's call id, and an assistant turn's tool calls: for templates that render tool use. */
  tool_call_id?: string;
  tool_calls?: readonly Record<string, unknown>[];
}

/**
 * Throws `fail(message)` unless `role` is a chat role: the server's `fail` is a 400 naming
 * `messages[i].role`, the library's an invalid_argument EdgespecError (as checkParams' ParamFailure).
 */
export function checkChatRole(role: unknown, fail: (message: string) => Error): asserts role is ChatRole {
  if (typeof role !== "string" || !(CHAT_ROLES as readonly string[]).includes(role)) {
    throw fail(`role must be one of ${CHAT_ROLES.join(", ")}, got ${JSON.stringify(role) ?? typeof role}`);
  }
}
