import { createServer, type Server } from "node:net";

export const LOOPBACK = "127.0.0.1";

function listen(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") {
    throw new Error("listening socket has no TCP address");
  }
  return address.port;
}

/**
 * Finds `count` distinct free TCP ports on `host` by listening on port 0 and closing again. All sockets are
 * held open until every port is known, so the returned ports are distinct. There is an unavoidable race
 * between closing and the component binding the port: callers retry on "address already in use".
 */
export async function allocatePorts(count: number, host: string = LOOPBACK): Promise<number[]> {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  }
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      servers.push(await listen(host));
    }
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** Finds one free TCP port on `host`. */
export async function allocatePort(host: string = LOOPBACK): Promise<number> {
  const [port] = await allocatePorts(1, host);
  if (port === undefined) {
    throw new Error("no port allocated");
  }
  return port;
}

/** True when a component log says it could not bind its port. */
export function isAddressInUse(log: string): boolean {
  return /address already in use|bind: address in use|EADDRINUSE/i.test(log);
}
