// The docker provider (@pulumi/docker 5.2.0): what it stores after create and what a change does, for
// every input greenlight sets. Container, RemoteImage, Volume and Network are kreuzwerker's Terraform
// resources, bridged: the next update diffs the planned inputs against the stored state. The rules are
// read at kreuzwerker/terraform-provider-docker v4.5.0 (5074970c), the upstream pulumi-docker v5.1.0
// pins; v5.2.0 bridges v4.6.0, whose release notes add `device_cgroup_rules`, upload owners and
// "changing healthcheck should recreate container" (#989) — docs/engine.md says how the program holds
// under either. Image is pulumi-docker's own native resource: it diffs its old inputs against its new.
import { createHash } from "crypto";
import { dockerCpusReadBack, goDurationReadBack } from "../../../contract/docker";
import { Inputs, TypeRules, unwrap, withDefaults } from "./rules";

const KW = "kreuzwerker/terraform-provider-docker@5074970c internal/provider";
const SCHEMA = `${KW}/resource_docker_container.go`;
const FUNCS = `${KW}/resource_docker_container_funcs.go`;
const NATIVE = "pulumi/pulumi-docker@v5.1.0 provider";

/** The nested healthcheck block's defaults (resource_docker_container.go:1059-1094). */
const HEALTHCHECK_DEFAULTS = {
  interval: "0s",
  timeout: "0s",
  startPeriod: "0s",
  startInterval: "0s",
  retries: 0,
};

function healthcheckStored(value: unknown): unknown {
  const planned = unwrap(withDefaults(value, HEALTHCHECK_DEFAULTS)) as Inputs;
  const stored: Inputs = { ...planned };
  for (const field of ["interval", "timeout", "startPeriod", "startInterval"]) {
    const text = planned[field];
    if (typeof text === "string") stored[field] = goDurationReadBack(text) ?? text;
  }
  return stored;
}

/** A published port as planned and read back: protocol tcp and ip 0.0.0.0 unless set (487-535, structures.go:35-59). */
function portsPlanned(value: unknown): unknown {
  const ports = unwrap(value);
  if (!Array.isArray(ports)) return value;
  return ports.map((port) => {
    const entry = { protocol: "tcp", ip: "0.0.0.0", ...(port as Inputs) };
    if (entry.ip === "") entry.ip = "0.0.0.0";
    return entry;
  });
}

/** Capabilities as a set: each list sorted, and with `normalise` as Docker stores them (CAP_ prefix, ALL kept). */
function capabilitiesSorted(value: unknown, _inputs: Inputs = {}, normalise = false): unknown {
  const caps = unwrap(value);
  if (caps === null || typeof caps !== "object") return value;
  const named = (name: unknown) =>
    normalise && typeof name === "string" && name !== "ALL" && !name.startsWith("CAP_")
      ? `CAP_${name}`
      : name;
  const sorted: Inputs = {};
  for (const [key, list] of Object.entries(caps as Inputs))
    sorted[key] = Array.isArray(list) ? list.map(named).sort() : list;
  return sorted;
}

export const container: TypeRules = {
  type: "docker:index/container:Container",
  diff: "state",
  version: "kreuzwerker/terraform-provider-docker v4.5.0 (5074970c)",
  properties: {
    name: {
      apply: "replace",
      stores: "the name without Docker's leading /",
      source: `${SCHEMA}:50-55 (ForceNew); ${FUNCS}:828 (read back without the leading /)`,
    },
    image: {
      apply: "replace",
      stores: "a sha256: id as the container's image id, a name as given",
      source: `${SCHEMA}:141-146 (ForceNew); ${FUNCS}:837-845 (a sha256: id reads back as the container's image id, a name as given)`,
    },
    envs: {
      apply: "replace",
      stores: "the config (Read never sets env)",
      set: true,
      source: `${SCHEMA}:590-598 (ForceNew set); ${FUNCS}:891-897 (env is not read back: the state keeps the config)`,
    },
    labels: {
      apply: "replace",
      stores: "the config (Read never sets labels)",
      set: true,
      computed: true,
      source: `${SCHEMA}:833-840 (ForceNew set); ${FUNCS}:891-897 (labels are not read back)`,
    },
    memory: {
      apply: "update",
      stores: "HostConfig.Memory in MB",
      source: `${SCHEMA}:842-847; ${FUNCS}:932 (HostConfig.Memory in MB); ${FUNCS}:1016-1019 (Update: docker update)`,
    },
    memorySwap: {
      apply: "update",
      stores: "HostConfig.MemorySwap in MB: twice the memory when unset",
      // Docker stores twice the memory limit when none is given (measured: docker inspect HostConfig.MemorySwap).
      readWhenUnset: (inputs) =>
        typeof inputs.memory === "number" && inputs.memory > 0 ? inputs.memory * 2 : 0,
      source: `${SCHEMA}:856-861 (optional, not computed: an unset value against a stored one is a change); ${FUNCS}:940-944; ${FUNCS}:1016-1019 (Update)`,
      note: "unset, Docker stores twice the memory limit and the next update would change it back",
    },
    cpus: {
      apply: "replace",
      stores: 'nanoInt64ToDecimalString(NanoCPUs): "2" → "2.0", "10" → "10.", "0.05" → "0.1"',
      stored: (value) => (typeof value === "string" ? (dockerCpusReadBack(value) ?? value) : value),
      source: `${SCHEMA}:1158-1163 (ForceNew); ${FUNCS}:946-948 and helpers.go:133-150 (nanoInt64ToDecimalString: "2" reads back "2.0")`,
    },
    healthcheck: {
      apply: "state",
      stores: "durations as Go Duration.String() (60s → 1m0s); unset fields 0s and 0",
      computed: true,
      planned: (value) => withDefaults(value, HEALTHCHECK_DEFAULTS),
      stored: healthcheckStored,
      source: `${SCHEMA}:1045-1096 (not ForceNew; defaults 0s/0); ${FUNCS}:960-971 (durations read back as Go Duration.String(): 60s → 1m0s); ${FUNCS}:1016-1019 (Update does not apply it)`,
      unapplied: "the provider records a new healthcheck but the running container keeps its old one",
    },
    wait: {
      apply: "state",
      stores: "the config (false when unset)",
      default: () => false,
      source: `${SCHEMA}:79-84 (default false; used only by Create, ${FUNCS}:585-632)`,
    },
    waitTimeout: {
      apply: "state",
      stores: "the config (60 when unset)",
      default: () => 60,
      source: `${SCHEMA}:86-91 (default 60; used only by Create)`,
    },
    restart: {
      apply: "update",
      stores: "RestartPolicy.Name (no when unset)",
      default: () => "no",
      source: `${SCHEMA}:230-236 (default "no"); ${FUNCS}:857; ${FUNCS}:1016-1019 (Update)`,
    },
    logDriver: {
      apply: "replace",
      computed: true,
      source: `${SCHEMA}:886-892 (ForceNew, computed); ${FUNCS}:951`,
    },
    logOpts: {
      apply: "replace",
      stores: "Docker's LogConfig.Config",
      source: `${SCHEMA}:894-899 (ForceNew); ${FUNCS}:952 and 983-989 (Docker's LogConfig.Config, read back only when configured)`,
    },
    networkMode: {
      apply: "replace",
      stores: "HostConfig.NetworkMode (bridge when unset)",
      default: () => "bridge",
      source: `${SCHEMA}:901-907 (ForceNew, default "bridge"); ${FUNCS}:954 (HostConfig.NetworkMode)`,
    },
    networksAdvanced: {
      apply: "replace",
      stores: "the config (read back only when the state holds none)",
      set: true,
      source: `${SCHEMA}:909-972 (ForceNew set); ${FUNCS}:786-794 (read back only when the state holds none)`,
    },
    ports: {
      apply: "replace",
      stores: "internal, external, ip, protocol (ip 0.0.0.0, protocol tcp when unset)",
      planned: portsPlanned,
      source: `${SCHEMA}:487-535 (ForceNew list; ip 0.0.0.0 and protocol tcp by default); ${FUNCS}:798-805 and resource_docker_container_structures.go:35-59`,
    },
    command: {
      apply: "replace",
      stores: "Config.Cmd",
      computed: true,
      source: `${SCHEMA}:163-170 (ForceNew, computed); ${FUNCS}:849 (Config.Cmd)`,
    },
    init: {
      apply: "state",
      stores: "HostConfig.Init",
      computed: true,
      source: `${SCHEMA}:1126-1130 (not ForceNew, not in Update); ${FUNCS}:864-868 (HostConfig.Init)`,
      unapplied: "the provider records a new init setting but the running container keeps its old one",
    },
    stopTimeout: {
      apply: "replace",
      stores: "Config.StopTimeout",
      computed: true,
      source: `${SCHEMA}:321-327 (ForceNew, computed); ${FUNCS}:978 (Config.StopTimeout)`,
    },
    volumes: {
      apply: "replace",
      stores: "the config (not read back)",
      set: true,
      source: `${SCHEMA}:434-481 (ForceNew set; not read back)`,
    },
    capabilities: {
      apply: "replace",
      stores: "HostConfig.CapAdd and CapDrop as Docker normalised them (CAP_ prefix, ALL as given)",
      // Docker stores each capability with its CAP_ prefix and ALL as given (measured: docker inspect
      // HostConfig.CapAdd after --cap-add NET_BIND_SERVICE is ["CAP_NET_BIND_SERVICE"]); both are sets.
      planned: capabilitiesSorted,
      stored: (value) => capabilitiesSorted(value, {}, true),
      source: `${SCHEMA}:262-289 (ForceNew, MaxItems 1, add and drop ForceNew sets); ${FUNCS}:870-877 (HostConfig.CapAdd, CapDrop)`,
    },
    securityOpts: {
      apply: "replace",
      stores: "HostConfig.SecurityOpt as given (measured: no-new-privileges reads back no-new-privileges)",
      set: true,
      computed: true,
      source: `${SCHEMA}:291-299 (ForceNew, computed set); ${FUNCS}:854 (HostConfig.SecurityOpt)`,
    },
    uploads: {
      apply: "replace",
      stores: "the config (Read never sets upload)",
      set: true,
      source: `${SCHEMA}:987-1040 (ForceNew set, every field ForceNew); ${FUNCS}:505-560 (uploaded before start); ${FUNCS}:959 (not read back)`,
    },
    destroyGraceSeconds: {
      apply: "state",
      stores: "the config (used by Delete)",
      source: `${SCHEMA}:827-831; ${FUNCS}:1084-1094 (Delete stops the container with this timeout, 0 s when unset)`,
      note: "Delete gives the container this many seconds after SIGTERM (0 when unset: killed at once)",
    },
  },
  computed: (name, inputs) => ({ name: inputs.name ?? name }),
};

export const remoteImage: TypeRules = {
  type: "docker:index/remoteImage:RemoteImage",
  diff: "state",
  version: "kreuzwerker/terraform-provider-docker v4.5.0 (5074970c)",
  properties: {
    name: { apply: "replace", source: `${KW}/resource_docker_image.go:36-41 (ForceNew)` },
    keepLocally: { apply: "state", source: `${KW}/resource_docker_image.go:55-59 (used by Delete only)` },
    platform: {
      apply: "replace",
      default: () => "",
      source: `${KW}/resource_docker_image.go:90-96 (ForceNew, default "")`,
    },
  },
  computed: (name, inputs) => ({
    imageId: `sha256:${createHash("sha256")
      .update(String(inputs.name ?? name))
      .digest("hex")}`,
    repoDigest: String(inputs.name ?? name),
  }),
};

export const volume: TypeRules = {
  type: "docker:index/volume:Volume",
  diff: "state",
  version: "kreuzwerker/terraform-provider-docker v4.5.0 (5074970c)",
  properties: {
    name: {
      apply: "replace",
      computed: true,
      source: `${KW}/resource_docker_volume.go:41-47 (ForceNew); :308`,
    },
  },
  // mountpoint: read back from the engine's VolumeInspect (resource_docker_volume.go, create and read);
  // the local driver's place under Docker's default data root.
  computed: (name, inputs) => ({
    name: inputs.name ?? name,
    driver: "local",
    mountpoint: `/var/lib/docker/volumes/${String(inputs.name ?? name)}/_data`,
  }),
};

export const network: TypeRules = {
  type: "docker:index/network:Network",
  diff: "state",
  version: "kreuzwerker/terraform-provider-docker v4.5.0 (5074970c)",
  properties: {
    name: {
      apply: "replace",
      source: `${KW}/resource_docker_network.go:25-30 (ForceNew); resource_docker_network_funcs.go:175`,
    },
    driver: {
      apply: "replace",
      computed: true,
      source: `${KW}/resource_docker_network.go:40-46 (ForceNew, computed); resource_docker_network_funcs.go:177`,
    },
    labels: {
      apply: "replace",
      set: true,
      source: `${KW}/resource_docker_network.go:32-38 (ForceNew set); resource_docker_network_funcs.go:176`,
    },
  },
  computed: (name, inputs) => ({ name: inputs.name ?? name }),
};

/** The runner's platform, as pulumi-docker's Check defaults build.platform to it (linux/<GOARCH>). */
export function runnerPlatform(arch: string = process.arch): string {
  return `linux/${arch === "x64" ? "amd64" : arch}`;
}

export const image: TypeRules = {
  type: "docker:index/image:Image",
  diff: "inputs",
  version: "pulumi/pulumi-docker v5.1.0 (native Image resource)",
  properties: {
    imageName: {
      apply: "update",
      source: `${NATIVE}/provider.go:271-334 (Diff: any change of the checked inputs rebuilds)`,
    },
    skipPush: { apply: "update", source: `${NATIVE}/provider.go:271-334` },
    buildOnPreview: { apply: "update", source: `${NATIVE}/provider.go:141-142 (Check fills it in)` },
    build: {
      apply: "update",
      stores: "the checked inputs: platform linux/<GOARCH of the runner> when unset, a contextDigest added",
      // Check fills build.platform with the platform of the machine running Pulumi when it is unset.
      planned: (value) => withDefaults(value, { platform: runnerPlatform() }),
      source: `${NATIVE}/provider.go:207 (contextDigest, a hash of the context) and 211-233 (platform defaults to linux/<GOARCH of the machine running pulumi>); 271-334 (Diff)`,
      note: "an unset platform is the runner's: an arm64 laptop builds arm64 images for the hosts",
    },
  },
  // image.go:272-295: an image built and not pushed reports its local id as repoDigest.
  computed: (name, inputs) => ({
    imageName: inputs.imageName ?? name,
    platform: (unwrap(inputs.build) as Inputs | undefined)?.platform ?? runnerPlatform(),
    repoDigest: `sha256:${createHash("sha256")
      .update(String(inputs.imageName ?? name))
      .digest("hex")}`,
  }),
  outputsChangedByUpdate: ["repoDigest"],
};

/** The docker provider's own configuration (pulumi:providers:docker), diffed by the bridge's DiffConfig. */
export const dockerProvider: TypeRules = {
  type: "pulumi:providers:docker",
  diff: "inputs",
  version: "pulumi/pulumi-terraform-bridge@59de6c661",
  properties: {
    host: {
      apply: "update",
      source:
        "pulumi/pulumi-terraform-bridge pkg/tfbridge/provider.go:796-880 (DiffConfig: old inputs against new; replacement only where ForcesProviderReplace)",
    },
    sshOpts: { apply: "update", source: "pulumi/pulumi-terraform-bridge pkg/tfbridge/provider.go:796-880" },
    registryAuth: {
      apply: "update",
      set: true,
      source: `pulumi/pulumi-terraform-bridge pkg/tfbridge/provider.go:796-880; ${KW}/provider.go:104-161 (registry_auth set: username and password before config_file) and 303-353`,
    },
    version: { apply: "update", source: "the SDK's plugin version, recorded by the engine" },
  },
};
