/**
 * Test wiring for the gRPC transport: the simulator's gRPC face next to its HTTP face (one state),
 * and provider options that make the real Google clients speak gRPC to it — insecure channel
 * credentials (`sslCreds`), `apiEndpoint` 127.0.0.1 and the face's port.
 */
import * as grpc from "@grpc/grpc-js";
import type { Clock } from "@virtual-node/core";
import type { CloudRunProviderOptions } from "../../src/options.js";
import { startGrpcFace } from "../simulator/grpc.js";
import type { GrpcFace } from "../simulator/grpc.js";
import { startSimulator } from "../simulator/server.js";
import type { SimulatorServer } from "../simulator/server.js";
import type { SimCloudOptions } from "../simulator/cloud.js";
import { stubAuthClient } from "./sim.js";

/** A simulator served over HTTP and gRPC. */
export async function startGrpcSimulator(
  options: SimCloudOptions,
): Promise<{ server: SimulatorServer; face: GrpcFace; close(): Promise<void> }> {
  const server = await startSimulator(options);
  const face = await startGrpcFace(server.sim);
  return {
    server,
    face,
    close: async () => {
      await face.close();
      await server.close();
    },
  };
}

/** Provider options for the gRPC face on `port` (transport `grpc`, the production default). */
export function grpcProviderOptions(port: number, clock: Clock): Partial<CloudRunProviderOptions> {
  return {
    transport: "grpc",
    authClient: stubAuthClient(),
    clientOptions: { apiEndpoint: "127.0.0.1", port, sslCreds: grpc.credentials.createInsecure() },
    clock,
  };
}
