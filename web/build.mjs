// Bundles src/main.jsx (Preact) and its CSS into dist/ with content-hashed names and writes
// dist/index.html pointing at them. /config.json is not built: the server next to index.html
// provides it (CloudFront: a BucketDeployment source; locally: localcloud/web.py).
import { build, context } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "dist");
const watch = process.argv.includes("--watch");

const options = {
  entryPoints: [path.join(here, "src", "main.jsx")],
  bundle: true,
  format: "esm",
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: !watch,
  sourcemap: true,
  entryNames: "[name]-[hash]",
  outdir: path.join(dist, "assets"),
  metafile: true,
  logLevel: "warning",
  legalComments: "linked",
};

async function writeIndex(metafile) {
  const outputs = Object.keys(metafile.outputs).map((file) => path.relative(dist, path.resolve(here, file)));
  const script = outputs.find((file) => file.endsWith(".js"));
  const style = outputs.find((file) => file.endsWith(".css"));
  const template = await readFile(path.join(here, "src", "index.html"), "utf8");
  const html = template
    .replace("%STYLE%", `<link rel="stylesheet" href="/${style}">`)
    .replace("%SCRIPT%", `<script type="module" src="/${script}"></script>`);
  await writeFile(path.join(dist, "index.html"), html);
}

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
if (watch) {
  const plugin = { name: "index", setup: (b) => b.onEnd((r) => r.metafile && writeIndex(r.metafile)) };
  const ctx = await context({ ...options, plugins: [plugin] });
  await ctx.watch();
  console.log("watching src/ -> dist/");
} else {
  const result = await build(options);
  await writeIndex(result.metafile);
  const size = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`dist/ built (${Math.round(size / 1024)} KiB with source maps)`);
}
