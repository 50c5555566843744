// The relay's fast entry: `node relay-main.js [--state-dir <dir>]`, what the coordinator runs in each
// proxy container (ssh.ts, relayCommand). The same relay as `greenlight-ops relay`, without loading every
// step of the CLI first: the switch waits for it to greet.
import { PROXY_STATE_DIR } from "../hosts/remote";
import { runRelay } from "./relay";

const at = process.argv.indexOf("--state-dir");
const stateDir = at > 0 ? process.argv[at + 1] : PROXY_STATE_DIR;
if (stateDir === undefined || !/^\/[A-Za-z0-9._/-]+$/.test(stateDir)) {
  process.stderr.write("relay: --state-dir <absolute path of letters, digits and . _ - />\n");
  process.exit(2);
}
runRelay({ stateDir, input: process.stdin, output: process.stdout }).then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`relay: ${error.message}\n`);
    process.exit(1);
  },
);
