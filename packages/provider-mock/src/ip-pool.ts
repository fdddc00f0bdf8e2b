/** Pod IPs from an IPv4 CIDR, handed out in order and reused after release. */
export class IpPool {
  readonly cidr: string;
  readonly #base: number;
  readonly #size: number;
  readonly #used = new Set<number>();
  #next = 0;

  constructor(cidr: string) {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
    const octets = match?.slice(1, 5).map(Number) ?? [];
    const prefix = Number(match?.[5]);
    if (octets.length !== 4 || octets.some((o) => o > 255) || !(prefix >= 8 && prefix <= 30)) {
      throw new RangeError(`pod CIDR ${JSON.stringify(cidr)} is not an IPv4 CIDR with a /8../30 prefix`);
    }
    const address = octets.reduce((acc, o) => acc * 256 + o, 0);
    this.#size = 2 ** (32 - prefix);
    this.#base = address - (address % this.#size);
    this.cidr = `${toDotted(this.#base)}/${prefix}`;
  }

  /** The next free address (skipping the network, the gateway `.1` and broadcast addresses). */
  allocate(): string {
    const usable = this.#size - 3;
    for (let i = 0; i < usable; i++) {
      const offset = 2 + ((this.#next + i) % usable);
      if (!this.#used.has(offset)) {
        this.#used.add(offset);
        this.#next = (offset - 2 + 1) % usable;
        return toDotted(this.#base + offset);
      }
    }
    throw new RangeError(`pod CIDR ${this.cidr} is exhausted`);
  }

  release(ip: string): void {
    const parts = ip.split(".").map(Number);
    const address = parts.reduce((acc, o) => acc * 256 + o, 0);
    this.#used.delete(address - this.#base);
  }
}

function toDotted(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
}
