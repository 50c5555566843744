// The record step's command line: every input comes from the environment (index.ts builds the record).
import { Command } from "commander";
import { StepCommand } from "../lib/step";
import { recordRelease } from ".";

export const recordCommand: StepCommand = {
  name: "record",
  description:
    "Checks an emergency override at run time and prints the release record (all input from the environment)",
  options: (command: Command) => command,
  run: (_options, env) => recordRelease(env),
};
