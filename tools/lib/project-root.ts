// Where the greenlight checkout is, for code that runs from its sources (tools/…) or from the compiled
// build (bin/build/tools/…): the nearest folder up whose package.json is greenlight's.
import * as fs from "fs";
import * as path from "path";

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (
      fs.existsSync(manifest) &&
      (JSON.parse(fs.readFileSync(manifest, "utf8")) as { name?: string }).name === "greenlight"
    )
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`no greenlight checkout above ${start}`);
  }
}

/** The project folder: Pulumi.yaml, the stack files, policies/ and bin/ are here. */
export const PROJECT_DIR = findRoot(__dirname);
