// The argument checks every component runs at the top of its constructor: a bad argument fails the
// program before any resource is registered, with the component, the argument and the value. One
// checker for all components, so the same argument is refused with the same words everywhere.
import {
  BUCKET_NAME,
  HOST,
  KEY_PREFIX,
  RELEASE_ID,
  SQL_IDENTIFIER,
  STACK_NAME,
  URL_PATH,
  isImageRef,
} from "../contract/patterns";
import { COLORS } from "../schema/types";

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

  stack(arg: string, value: string): void {
    this.require(STACK_NAME.test(value), arg, value, "a stack name: letters, digits, '.', '_' or '-'");
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

  sqlIdentifier(arg: string, value: string): void {
    this.require(SQL_IDENTIFIER.test(value), arg, value, "a lower-case SQL identifier");
  }

  bucket(arg: string, value: string): void {
    this.require(BUCKET_NAME.test(value), arg, value, "3-63 lower-case letters, digits, '.' or '-'");
  }

  keyPrefix(arg: string, value: string): void {
    this.require(KEY_PREFIX.test(value), arg, value, "path segments of letters, digits, '.', '_' or '-'");
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
