// Copies the browser builds of our npm dependencies into static/vendor/ (gitignored),
// so Django's static files serve them and no page loads anything from a CDN.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "static", "vendor");
const files = {
  "htmx.min.js": "node_modules/htmx.org/dist/htmx.min.js",
  "Sortable.min.js": "node_modules/sortablejs/Sortable.min.js",
  "chart.umd.min.js": "node_modules/chart.js/dist/chart.umd.min.js",
  // The build names its source map; collectstatic with DEBUG=0 (ManifestStaticFilesStorage) fails without it.
  "chart.umd.min.js.map": "node_modules/chart.js/dist/chart.umd.min.js.map",
};

mkdirSync(target, { recursive: true });
for (const [name, source] of Object.entries(files)) {
  copyFileSync(join(root, source), join(target, name));
  console.log(`static/vendor/${name} <- ${source}`);
}
