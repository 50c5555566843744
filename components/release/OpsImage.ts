import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT } from "../../contract/resources";
import { IMAGE_REF } from "../../contract/patterns";
import { ArgChecker } from "../arg-checker";

export interface OpsImageArgs {
  /** greenlight-ops:<content tag>: the image the hosts run is the program's version. */
  name: string;
  /** Folder with the Dockerfile and the compiled ops CLI. */
  context: string;
  /** Base image the Dockerfile builds on (node 22 with Debian's haproxy and PostgreSQL client). */
  base: string;
  /** The hosts' platform, e.g. linux/amd64: the image is built for them, not for this machine. */
  platform: string;
  /** What the build waits for (the release record: outside the window nothing is built). */
  after?: pulumi.Resource[];
}

/**
 * The ops image, built once by the Docker engine of the machine running Pulumi (the default docker
 * provider: DOCKER_HOST as usual) for the hosts' platform, never pushed: each host gets it from here
 * over SSH (DockerHost's delivery), so no host builds it or pulls its base.
 */
export class OpsImage extends pulumi.ComponentResource {
  readonly name: string;
  /** The image id the build produced (sha256:<64 hex>): what each host must hold after its delivery. */
  readonly id: pulumi.Output<string>;
  readonly image: docker.Image;

  constructor(name: string, args: OpsImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT.opsImage, name, {}, opts);
    const check = new ArgChecker("OpsImage", name);
    check.require(
      /^greenlight-ops:[a-f0-9]{16}$/.test(args.name),
      "name",
      args.name,
      "greenlight-ops:<16 hex digits>",
    );
    check.require(IMAGE_REF.test(args.base), "base", args.base, "an image reference");
    check.require(
      /^linux\/(amd64|arm64)$/.test(args.platform),
      "platform",
      args.platform,
      "linux/amd64 or linux/arm64",
    );
    this.name = args.name;
    this.image = new docker.Image(
      `${name}-build`,
      {
        imageName: args.name,
        build: {
          context: args.context,
          dockerfile: `${args.context}/Dockerfile`,
          args: { BASE: args.base },
          // Unset, pulumi-docker builds for the machine running Pulumi (provider.go:211-233), not the hosts.
          platform: args.platform,
        },
        skipPush: true,
      },
      { parent: this, dependsOn: args.after ?? [] },
    );
    // Not pushed, the provider reports the built image's id as its repoDigest (pulumi-docker image.go).
    this.id = this.image.repoDigest;
    this.registerOutputs({ name: this.name, id: this.id });
  }
}
