// How a color's replicas spread over the Docker hosts: in blocks, as evenly as they divide (7 over 3
// hosts: 3, 2, 2), so every host's proxy has replicas of each color behind it. Pure; the config rule
// (schema/rules.ts) refuses fewer replicas than hosts.

/** The replicas of one color on one host: local indices 0…replicas-1, ports hostPort+index there. */
export interface HostShare<T> {
  host: T;
  replicas: number;
}

export function spreadReplicas<T>(replicas: number, hosts: readonly T[]): HostShare<T>[] {
  if (hosts.length === 0) throw new Error("spreadReplicas: no hosts to spread over");
  if (!Number.isInteger(replicas) || replicas < hosts.length)
    throw new Error(`spreadReplicas: ${replicas} replicas cannot give each of ${hosts.length} hosts one`);
  const base = Math.floor(replicas / hosts.length);
  const extra = replicas % hosts.length;
  return hosts.map((host, index) => ({ host, replicas: base + (index < extra ? 1 : 0) }));
}
