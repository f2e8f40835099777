export default function capturingFactory(config: unknown): Promise<unknown>;
export function capturedInstance(): unknown;
