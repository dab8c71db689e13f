// Loads HTML pages in headless Chromium (playwright-core, Debian's chromium) from file:// and
// fails when an image does not load, the console logs an error, a page throws, or a
// Content-Security-Policy violation is reported — in the page or in any of its frames. On
// every flame graph (a sandboxed iframe holding inferno's SVG) it clicks a frame and checks the
// zoom took (inferno shows "Reset Zoom" and hides the frames outside the clicked one), and
// hovers one and checks the tooltip line. Pages named after --hostile are also checked for the
// trace of the hostile payloads (tests/cli/hostile.rs) in every frame.
//   node html-check.mjs [--hostile PAGE.html]... PAGE.html...
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const pages = [];
const hostile = new Set();
// Pages rendered from the Markdown as GitHub renders it (cmark-gfm, .ci/html-check.sh):
// flame graphs as images linking to their SVGs, contents links, folded tables, the syscall
// kinds and the hot paths.
const gfm = new Set();
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--hostile') { hostile.add(args[++i]); pages.push(args[i]); }
  else if (args[i] === '--gfm') { gfm.add(args[++i]); pages.push(args[i]); }
  else pages.push(args[i]);
}
const failures = [];
const totals = { pages: 0, frames: 0, images: 0, graphs: 0, zooms: 0, tooltips: 0 };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
for (const file of pages) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', m => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', e => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', r => problems.push(`request failed: ${r.url().slice(0, 120)} ${r.failure()?.errorText}`));
  // Every frame (the page and the flame graphs' srcdoc frames) reports CSP violations and
  // image errors into a list the check reads back.
  await context.addInitScript(() => {
    window.__problems = [];
    document.addEventListener('securitypolicyviolation', e => {
      window.__problems.push(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
    }, true);
    window.addEventListener('error', e => {
      if (e.target && e.target.tagName === 'IMG') window.__problems.push(`image error: ${e.target.alt}`);
    }, true);
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.waitForTimeout(300);
  const frames = page.frames();
  const graphs = frames.filter(f => f !== page.mainFrame());
  const images = await page.evaluate(() => [...document.images].map(i => ({ alt: i.alt, ok: i.complete && i.naturalWidth > 0 })));
  for (const img of images) if (!img.ok) problems.push(`image did not load: ${img.alt}`);
  if (gfm.has(file)) {
    const seen = await page.evaluate(() => ({
      svgs: [...document.querySelectorAll('a[href$=".svg"] > img[src$=".svg"]')].filter(i => i.complete && i.naturalWidth > 0).length,
      links: document.querySelectorAll('a[href^="#"]').length,
      details: document.querySelectorAll('details').length,
      headings: [...document.querySelectorAll('h2, h3')].map(h => h.textContent.trim()),
    }));
    if (seen.svgs < 4) problems.push(`${seen.svgs} flame graphs shown, expected 4`);
    if (seen.links < 5) problems.push(`${seen.links} contents links`);
    if (seen.details < 1) problems.push('no folded table');
    for (const h of ['Syscalls by kind', 'Hot paths']) if (!seen.headings.includes(h)) problems.push(`no ${h} section`);
    totals.pages += 1;
    console.log(`${problems.length ? 'FAIL' : 'ok  '} ${file} (as GitHub renders it): ${seen.svgs} flame graphs shown, ${seen.links} contents links, ${seen.details} folded tables, syscall kinds and hot paths`);
    for (const p of problems) { console.log(`     ${p}`); failures.push(`${file}: ${p}`); }
    await context.close();
    continue;
  }
  const toc = await page.evaluate(() => document.querySelectorAll('nav.toc a[href^="#"]').length);
  if (toc === 0) problems.push('no table of contents');
  let zooms = 0, tooltips = 0;
  for (const [n, frame] of graphs.entries()) {
    const name = `graph ${n + 1}`;
    const state = await frame.evaluate(() => ({
      frames: document.querySelectorAll('#frames > g').length,
      unzoomHidden: document.getElementById('unzoom')?.classList.contains('hide'),
      // init() ran: fluid drawing removed the width attribute.
      fluid: !document.querySelector('svg').hasAttribute('width'),
    }));
    if (!state.frames) { problems.push(`${name}: no frames`); continue; }
    if (!state.fluid) problems.push(`${name}: inferno's init() did not run`);
    if (!state.unzoomHidden) problems.push(`${name}: "Reset Zoom" shown before any click`);
    // The widest frame above the root that is narrower than the whole: clicking it zooms.
    const target = await frame.evaluate(() => {
      const gs = [...document.querySelectorAll('#frames > g')];
      let best = -1, bestW = 0;
      gs.forEach((g, i) => {
        const w = parseInt(g.querySelector('rect').getAttribute('fg:w'));
        const total = parseInt(document.getElementById('frames').getAttribute('total_samples'));
        if (w < total && w > bestW) { best = i; bestW = w; }
      });
      return best;
    });
    if (target < 0) { problems.push(`${name}: no frame narrower than the whole to click`); continue; }
    // A real mouse: scroll the graph's iframe into view, then move and click at the frame's
    // rectangle, in page coordinates.
    const element = await frame.frameElement();
    await element.scrollIntoViewIfNeeded();
    await page.waitForTimeout(100);
    const at = await frame.evaluate(t => {
      const r = document.querySelectorAll('#frames > g')[t].querySelector('rect').getBoundingClientRect();
      return { x: r.x + Math.min(r.width / 2, 20), y: r.y + r.height / 2 };
    }, target);
    // A graph taller than the window: bring the frame's row to the middle of the window.
    const first = await element.boundingBox();
    await page.evaluate(dy => window.scrollBy(0, dy), first.y + at.y - 450);
    await page.waitForTimeout(100);
    const box = await element.boundingBox();
    const x = box.x + 1 + at.x, y = box.y + 1 + at.y;
    await page.mouse.move(x, y, { steps: 4 });
    await page.waitForTimeout(50);
    const details = await frame.evaluate(() => document.getElementById('details').textContent);
    if (details.trim().length > 0) tooltips++; else {
      const hit = await page.evaluate(([x, y]) => { const e = document.elementFromPoint(x, y); return e ? e.tagName + '.' + e.className : 'none'; }, [x, y]);
      const inner = await frame.evaluate(([x, y]) => { const e = document.elementFromPoint(x, y); return e ? e.tagName + ' ' + (e.parentNode && e.parentNode.tagName) : 'none'; }, [at.x, at.y]);
      problems.push(`${name}: hovering a frame showed no details (page point ${x},${y} hits ${hit}; frame point hits ${inner}; box ${JSON.stringify(box)})`);
    }
    const before = await frame.evaluate(t => document.querySelectorAll('#frames > g')[t].querySelector('rect').getAttribute('width'), target);
    await page.mouse.click(x, y);
    await page.waitForTimeout(50);
    const after = await frame.evaluate(t => ({
      width: document.querySelectorAll('#frames > g')[t].querySelector('rect').getAttribute('width'),
      unzoomShown: !document.getElementById('unzoom').classList.contains('hide'),
      hidden: document.querySelectorAll('#frames > g.hide').length,
    }), target);
    if (after.unzoomShown && parseFloat(after.width) === 100 && parseFloat(before) < 100) zooms++;
    else problems.push(`${name}: click did not zoom (width ${before} → ${after.width}, reset zoom shown: ${after.unzoomShown})`);
  }
  for (const frame of frames) {
    const found = await frame.evaluate(() => ({
      problems: window.__problems || [],
      pwned: document.documentElement.hasAttribute('data-pwned') || document.title === 'PWNED',
    })).catch(e => ({ problems: [`frame not readable: ${e.message}`], pwned: false }));
    problems.push(...found.problems);
    if (found.pwned) problems.push('a payload ran: data-pwned / PWNED');
  }
  if (hostile.has(file)) {
    const payloadText = await page.evaluate(() => document.body.textContent.includes('<script>document.documentElement'));
    if (!payloadText) problems.push('hostile page: the payloads are not shown as text');
  }
  totals.pages++; totals.frames += frames.length; totals.images += images.length;
  totals.graphs += graphs.length; totals.zooms += zooms; totals.tooltips += tooltips;
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${file}: ${images.length} images, ${graphs.length} flame graphs zoomed ${zooms}, ${toc} contents links${hostile.has(file) ? ', hostile: no trace' : ''}`);
  for (const p of problems) { console.log(`     ${p}`); failures.push(`${file}: ${p}`); }
  await context.close();
}
await browser.close();
console.log(`html-check: ${totals.pages} pages, ${totals.images} images loaded, ${totals.graphs} flame graphs (${totals.zooms} zoomed on click, ${totals.tooltips} tooltips), ${failures.length} problems`);
if (totals.pages === 0 || totals.graphs === 0) { console.log('html-check: checked nothing'); process.exit(1); }
process.exit(failures.length ? 1 : 0);
