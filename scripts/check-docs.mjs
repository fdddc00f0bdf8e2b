// Code samples in the docs that are real files: a `<!-- sample: path -->` line followed by a fenced
// block must show that file verbatim, so the type-checked file and the page never drift apart.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

let failed = false;
const pages = readdirSync("docs", { recursive: true })
  .map(String)
  .filter((p) => p.endsWith(".md"))
  .map((p) => join("docs", p));
for (const page of pages) {
  const text = readFileSync(page, "utf8");
  const marker = /<!-- sample: (\S+) -->\n```[a-z]*\n([\s\S]*?)```/g;
  for (const match of text.matchAll(marker)) {
    const [, path, shown] = match;
    let actual;
    try {
      actual = readFileSync(path, "utf8");
    } catch {
      console.error(`${page}: sample ${path} does not exist`);
      failed = true;
      continue;
    }
    if (actual !== shown) {
      console.error(
        `${page}: the block after <!-- sample: ${path} --> differs from the file; paste the file again`,
      );
      failed = true;
    }
  }
}
if (!failed) console.log(`docs samples: ${pages.length} pages checked`);
process.exit(failed ? 1 : 0);
