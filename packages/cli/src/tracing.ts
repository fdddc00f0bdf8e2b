/**
 * OpenTelemetry trace export, only when the config asks for it: core creates its spans through
 * `@opentelemetry/api` (no-ops by default); registering an SDK tracer provider with an OTLP/HTTP
 * exporter makes them real. The SDK is imported lazily, so agents without telemetry never load it.
 */
import { trace } from "@opentelemetry/api";

/** `telemetry.otlp` of the config, secret references already resolved. */
export interface OtlpOptions {
  endpoint: string;
  headers?: Record<string, string>;
  serviceName?: string;
}

/** Stops the export, flushing what is buffered. */
export type StopTracing = () => Promise<void>;

/** Installs the global tracer provider exporting to `options.endpoint`. */
export async function startTracing(options: OtlpOptions): Promise<StopTracing> {
  const [{ TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
    ]);
  const exporter = new OTLPTraceExporter({ url: options.endpoint, headers: options.headers ?? {} });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName ?? "virtual-node" }),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  trace.setGlobalTracerProvider(provider);
  return async () => {
    await provider.shutdown();
    trace.disable();
  };
}
