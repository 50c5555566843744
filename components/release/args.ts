// Argument checks the release components run at the top of their constructors: a bad argument fails
// the program before any resource is registered, with the component, the argument and the value.
import { HOST, RELEASE_ID, URL_PATH, isImageRef } from "../../contract/patterns";
import { COLORS } from "../../schema/types";

export class ArgChecker {
  constructor(
    private readonly component: string,
    private readonly name: string,
  ) {}

  /** Throws "<Component> <name>: args.<arg> <value> is invalid: expected <expected>" unless `ok`. */
  require(ok: boolean, arg: string, value: unknown, expected: string): void {
    if (!ok) {
      throw new Error(
        `${this.component} ${this.name}: args.${arg} ${JSON.stringify(value)} is invalid: expected ${expected}`,
      );
    }
  }

  color(arg: string, value: string): void {
    this.require(COLORS.includes(value as (typeof COLORS)[number]), arg, value, "blue or green");
  }

  release(arg: string, value: string): void {
    this.require(RELEASE_ID.test(value), arg, value, "1-64 letters, digits, '.', '_' or '-'");
  }

  image(arg: string, value: string): void {
    this.require(
      isImageRef(value),
      arg,
      value,
      "a Docker image reference such as registry/shop@sha256:<64 hex>",
    );
  }

  port(arg: string, value: number): void {
    this.require(Number.isInteger(value) && value >= 1 && value <= 65535, arg, value, "a TCP port 1-65535");
  }

  integer(arg: string, value: number, min: number, max: number, unit: string): void {
    this.require(
      Number.isInteger(value) && value >= min && value <= max,
      arg,
      value,
      `${min}-${max} ${unit}`,
    );
  }

  path(arg: string, value: string): void {
    this.require(URL_PATH.test(value), arg, value, "an absolute URL path such as /health");
  }

  host(arg: string, value: string): void {
    this.require(HOST.test(value), arg, value, "a host name or IPv4 address");
  }

  /** Replica ports hostPort … hostPort+replicas-1 stay within 65535. */
  portRange(arg: string, hostPort: number, replicas: number): void {
    this.port(arg, hostPort);
    this.require(
      hostPort + replicas - 1 <= 65535,
      arg,
      hostPort,
      `room for ${replicas} replica ports below 65536`,
    );
  }
}
