// Staging the ops image's build context for the hosts' docker providers: the compiled ops CLI of this
// checkout (`npm run build`, run by `npm ci`) and images/ops/Dockerfile, written once per content into
// the user's cache (ops/hosts/image.ts opsImageCacheDir), never into the checkout: a plan or a preview
// writes nothing there and runs from a read-only one. The tag is a hash of the content: the image a
// host builds is this program's version, and an unchanged CLI keeps its tag, so nothing is rebuilt.
import * as fs from "fs";
import * as path from "path";
import { opsImageCacheDir, opsImageFiles, opsImageName, writeOpsImageContext } from "../../ops/hosts/image";

/** The ops image's name and a staged context folder; the program runs in the project folder. */
export function stageOpsImage(
  projectDir = process.cwd(),
  cacheDir = opsImageCacheDir(process.env),
): { name: string; context: string } {
  const files = opsImageFiles(projectDir);
  const name = opsImageName(files);
  const context = path.join(cacheDir, name.split(":")[1]);
  if (!fs.existsSync(path.join(context, "Dockerfile"))) writeOpsImageContext(files, context);
  return { name, context };
}
