// The migration's options and their checks: the step (index.ts, container.ts) and its command line
// (cli.ts) both read them.
import { COMMAND_WORD, DOCKER_NETWORK, IMAGE_REF } from "../../contract/patterns";
import { BackupLocation, badOption, validateLocation } from "../lib/data-options";

export interface MigrateOptions extends BackupLocation {
  /** The release image the migration runs in. */
  image: string;
  /** The release's migration command, exec form: the first word is the container's entrypoint. */
  command: string[];
  /** Docker network of the one-off container: "host" or a network name. Default "host". */
  network: string;
  /** Longest the run may take, lock wait included, in seconds. Default 900. */
  timeoutSeconds: number;
  /** The docker CLI. Default "docker". */
  docker: string;
  now?: () => Date;
}

export function validateMigrateOptions(options: MigrateOptions): void {
  validateLocation(options);
  if (!IMAGE_REF.test(options.image))
    throw badOption(`--image ${JSON.stringify(options.image)} is not an image reference`);
  if (options.command.length === 0 || !options.command.every((word) => COMMAND_WORD.test(word)))
    throw badOption(
      `--command-json ${JSON.stringify(options.command)}: give a non-empty list of words without spaces, quotes or shell characters`,
    );
  if (!DOCKER_NETWORK.test(options.network))
    throw badOption(`--network ${JSON.stringify(options.network)}: use host or a Docker network name`);
  if (!(Number.isInteger(options.timeoutSeconds) && options.timeoutSeconds >= 1))
    throw badOption(`--timeout-seconds ${options.timeoutSeconds}: use a whole number of seconds ≥ 1`);
}
