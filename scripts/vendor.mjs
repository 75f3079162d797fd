// Copies the browser builds of our npm dependencies into static/vendor/ (gitignored),
// so Django's static files serve them and no page loads anything from a CDN.
// Also builds, from npm packages and our own drawing code, what the shell needs:
// the Arabic web font (two weights, arabic + latin subsets only, to keep the payload small),
// one SVG sprite with only the icons the templates use, and the app's PNG icons.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "static", "vendor");
const files = {
  "htmx.min.js": "node_modules/htmx.org/dist/htmx.min.js",
  "Sortable.min.js": "node_modules/sortablejs/Sortable.min.js",
  "chart.umd.min.js": "node_modules/chart.js/dist/chart.umd.min.js",
  // The build names its source map; collectstatic with DEBUG=0 (ManifestStaticFilesStorage) fails without it.
  "chart.umd.min.js.map": "node_modules/chart.js/dist/chart.umd.min.js.map",
};
for (const subset of ["arabic", "latin"]) {
  for (const weight of [400, 700]) {
    const name = `noto-sans-arabic-${subset}-${weight}-normal.woff2`;
    files[`fonts/${name}`] = `node_modules/@fontsource/noto-sans-arabic/files/${name}`;
  }
}

// The icons the templates name (templates/partials/icon.html); a sprite of ~25 symbols instead of 2,000 files.
const ICONS = [
  "house", "users", "building-2", "square-kanban", "handshake", "calendar-check", "menu", "x", "search",
  "log-out", "languages", "upload", "copy", "target", "layout-dashboard", "circle-user", "shield", "bell",
  "chevron-left", "chevron-right", "arrow-left", "arrow-right", "wifi-off", "plus", "inbox", "ellipsis",
  "life-buoy",
];

function iconSprite() {
  const symbols = ICONS.map((name) => {
    const svg = readFileSync(join(root, "node_modules/lucide-static/icons", `${name}.svg`), "utf8");
    const body = svg.slice(svg.indexOf(">", svg.indexOf("<svg")) + 1, svg.lastIndexOf("</svg>")).trim();
    // Stroke, width and caps come from the .icon rule in safqa.css, so one colour rule serves every icon.
    return `<symbol id="${name}" viewBox="0 0 24 24">${body.replace(/\s*\n\s*/g, "")}</symbol>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg"><!-- lucide-static (ISC license) -->${symbols.join("")}</svg>\n`;
}

// ---- The app icon: our own drawing (a green tile, a white coin with three rising bars), written as PNG. ----
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  const samples = 4; // 4×4 supersampling smooths the edges
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1);
    raw[row] = 0; // no filter
    for (let x = 0; x < size; x++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const [r, g, b, a] = pixel((x + (sx + 0.5) / samples) / size, (y + (sy + 0.5) / samples) / size);
          sum[0] += r * a; sum[1] += g * a; sum[2] += b * a; sum[3] += a;
        }
      }
      const alpha = sum[3] / (samples * samples);
      const offset = row + 1 + x * 4;
      raw[offset] = alpha ? Math.round(sum[0] / sum[3]) : 0;
      raw[offset + 1] = alpha ? Math.round(sum[1] / sum[3]) : 0;
      raw[offset + 2] = alpha ? Math.round(sum[2] / sum[3]) : 0;
      raw[offset + 3] = Math.round(alpha * 255);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", header), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}
const GREEN = [11, 92, 75];
const WHITE = [255, 255, 255];
// (u, v) in 0..1; `inset` shrinks the drawing into the safe zone of a maskable icon.
function appIcon({ maskable }) {
  return (u, v) => {
    if (!maskable) {
      // Rounded tile: corner radius 22 % of the side.
      const r = 0.22;
      const cx = Math.min(Math.max(u, r), 1 - r);
      const cy = Math.min(Math.max(v, r), 1 - r);
      if ((u - cx) ** 2 + (v - cy) ** 2 > r * r) return [0, 0, 0, 0];
    }
    const scale = maskable ? 0.8 : 1;
    const x = (u - 0.5) / scale + 0.5;
    const y = (v - 0.5) / scale + 0.5;
    const d = Math.hypot(x - 0.5, y - 0.5);
    if (d > 0.33) return [...GREEN, 1];
    // Three rising bars inside the coin, leading edge at the bottom.
    const bars = [[0.33, 0.43, 0.6], [0.46, 0.56, 0.48], [0.59, 0.69, 0.36]];
    for (const [x0, x1, top] of bars) if (x >= x0 && x <= x1 && y >= top && y <= 0.7) return [...GREEN, 1];
    return [...WHITE, 1];
  };
}

mkdirSync(join(target, "fonts"), { recursive: true });
mkdirSync(join(target, "icons"), { recursive: true });
for (const [name, source] of Object.entries(files)) {
  copyFileSync(join(root, source), join(target, name));
  console.log(`static/vendor/${name} <- ${source}`);
}
writeFileSync(join(target, "icons.svg"), iconSprite());
console.log(`static/vendor/icons.svg <- ${ICONS.length} icons from lucide-static`);
for (const size of [192, 512]) {
  writeFileSync(join(target, "icons", `app-${size}.png`), png(size, appIcon({ maskable: false })));
  writeFileSync(join(target, "icons", `app-maskable-${size}.png`), png(size, appIcon({ maskable: true })));
  console.log(`static/vendor/icons/app-${size}.png, app-maskable-${size}.png <- scripts/vendor.mjs`);
}
