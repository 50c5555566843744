// The image step's command line (index.ts checks and pulls the image).
import { Command } from "commander";
import { imageRef } from "../lib/options";
import { StepCommand } from "../lib/step";
import { ensureImage } from ".";

export const imageCommand: StepCommand = {
  name: "image",
  description: "Checks that an image is on the Docker host (pulling it unless --no-pull) and prints its id",
  options: (command: Command) =>
    command
      .requiredOption("--image <ref>", "image reference (name:tag, name@sha256:…, or an image id)", imageRef)
      .option("--no-pull", "fail instead of pulling a missing image"),
  run: (options) => ensureImage(String(options.image), { pull: options.pull !== false }),
};
