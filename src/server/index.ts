/** The HTTP server: the app factory, the model service it runs on, and their option types. */
export { ApiError, type ErrorBody } from "./api-error.ts";
export { type AppOptions, createApp } from "./app.ts";
export { Metrics, sampleValue } from "./metrics.ts";
export { type GenerationRequest } from "./requests.ts";
export { ModelService, type ServiceOptions } from "./service.ts";
