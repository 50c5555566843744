// The command provider (@pulumi/command 1.2.1, a pulumi-go-provider `infer` provider): it stores every
// input as given and adds stdout and stderr; the next update diffs the old inputs against the new. A
// change of `triggers` replaces the command (create runs again); any other change updates it, which runs
// `update` when one is given and `create` otherwise.
import { TypeRules } from "./rules";

const CMD = "pulumi/pulumi-command@v1.2.1 provider/pkg/provider";

const input = (source: string) => ({ apply: "update" as const, source });

function commandRules(type: string, controller: string): TypeRules {
  return {
    type,
    diff: "inputs",
    version: "pulumi/pulumi-command v1.2.1",
    properties: {
      triggers: {
        apply: "replace",
        source: `${CMD}/common/inputs.go:10 (triggers: replaceOnChanges)`,
      },
      create: input(`${CMD}/common/inputs.go:12; ${controller} (Update runs update when given, else create)`),
      update: input(`${CMD}/common/inputs.go:13; ${controller}`),
      delete: input(`${CMD}/common/inputs.go:14 (run by Delete only)`),
      environment: input(`${controller} (an input like any other: a change runs update or create)`),
      logging: input(`${controller}`),
      addPreviousOutputInEnv: input(
        `${CMD}/remote/commandOutputs.go:51-60, local/commandOutputs.go:88-91 (PULUMI_COMMAND_STDOUT for the next run)`,
      ),
      connection: input(
        `${CMD}/remote/command.go:46 (an input, secret, not replaceOnChanges: a new SSH key runs update or create)`,
      ),
      stdin: input(`${CMD}/remote/command.go:44`),
    },
    // Offline no step runs: stdout and stderr are empty (remote/commandOutputs.go:103-106 sets them after a run).
    computed: () => ({ stdout: "", stderr: "" }),
    outputsChangedByUpdate: ["stdout", "stderr"],
  };
}

export const localCommand = commandRules("command:local:Command", `${CMD}/local/commandController.go:67-90`);
export const remoteCommand = commandRules(
  "command:remote:Command",
  `${CMD}/remote/commandController.go:63-83`,
);
