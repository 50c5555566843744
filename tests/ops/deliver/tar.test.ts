import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { dropTarEntries, readTarEntry } from "../../../ops/deliver/tar";

/** Files of every kind the filter must walk past: a long name (PAX or GNU), an empty one, a large one. */
const LONG = `${"deep/".repeat(30)}layer.tar`;
const FILES: Record<string, Buffer> = {
  "manifest.json": Buffer.from('[{"Layers":["a/layer.tar"]}]'),
  "a/layer.tar": crypto.randomBytes(700_001),
  "b/empty": Buffer.alloc(0),
  [LONG]: crypto.randomBytes(1_537),
  "c/json": Buffer.from("{}"),
};

function makeTar(dir: string, format: "pax" | "gnu"): string {
  const root = path.join(dir, `root-${format}`);
  for (const [name, content] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  const file = path.join(dir, `${format}.tar`);
  execFileSync("tar", [`--format=${format}`, "-cf", file, "-C", root, ...Object.keys(FILES)]);
  return file;
}

async function filtered(file: string, drop: string[], chunk: number): Promise<Buffer> {
  const whole = fs.readFileSync(file);
  // Odd chunk sizes put header and data boundaries anywhere in a chunk.
  const parts = Array.from({ length: Math.ceil(whole.length / chunk) }, (_, index) =>
    whole.subarray(index * chunk, (index + 1) * chunk),
  );
  const out: Buffer[] = [];
  for await (const piece of Readable.from(parts).pipe(dropTarEntries(new Set(drop))))
    out.push(piece as Buffer);
  return Buffer.concat(out);
}

function listing(tar: Buffer, dir: string): Record<string, string> {
  const file = path.join(dir, `out-${crypto.randomUUID()}.tar`);
  fs.writeFileSync(file, tar);
  const target = fs.mkdtempSync(path.join(dir, "x-"));
  execFileSync("tar", ["-xf", file, "-C", target]);
  const names = execFileSync("tar", ["-tf", file], { encoding: "utf8" }).split("\n").filter(Boolean);
  return Object.fromEntries(
    names.map((name) => [
      name,
      crypto
        .createHash("sha256")
        .update(fs.readFileSync(path.join(target, name)))
        .digest("hex"),
    ]),
  );
}

describe("deliver: a docker save archive without the layer files a host holds", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-tar-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const digest = (content: Buffer) => crypto.createHash("sha256").update(content).digest("hex");

  for (const format of ["pax", "gnu"] as const) {
    it(`${format}: drops exactly the named entries (a long-named one too), whatever the chunk size; tar reads the rest intact`, async () => {
      const file = makeTar(dir, format);
      for (const chunk of [1, 511, 4096, 65_536]) {
        const kept = listing(await filtered(file, ["a/layer.tar", LONG], chunk), dir);
        assert.deepEqual(
          kept,
          {
            "manifest.json": digest(FILES["manifest.json"]),
            "b/empty": digest(FILES["b/empty"]),
            "c/json": digest(FILES["c/json"]),
          },
          `chunks of ${chunk}`,
        );
      }
      assert.deepEqual(
        listing(await filtered(file, [], 4096), dir),
        Object.fromEntries(Object.entries(FILES).map(([name, content]) => [name, digest(content)])),
      );
      assert.ok(
        (await filtered(file, [], 4096)).equals(fs.readFileSync(file)),
        "dropping nothing copies the archive byte for byte",
      );
      assert.deepEqual(readTarEntry(file, "manifest.json"), FILES["manifest.json"]);
      assert.deepEqual(readTarEntry(file, LONG), FILES[LONG]);
      assert.equal(readTarEntry(file, "missing"), undefined);
    });
  }
});
