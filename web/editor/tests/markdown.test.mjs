import { test } from "node:test";
import assert from "node:assert/strict";
import { renderMarkdown } from "../markdown.js";

test("markdown: headings, emphasis, code, lists, links", () => {
  assert.equal(renderMarkdown("# Title\nsome **bold** and *it* `x`"), "<h1>Title</h1><p>some <strong>bold</strong> and <em>it</em> <code>x</code></p>");
  assert.equal(renderMarkdown("- a\n- b\n\nend"), "<ul><li>a</li><li>b</li></ul><p>end</p>");
  assert.equal(renderMarkdown("```\n<b>\n```"), "<pre><code>&lt;b&gt;\n</code></pre>");
  assert.equal(renderMarkdown("[docs](https://example.com/a)"),
    '<p><a href="https://example.com/a" target="_blank" rel="noopener noreferrer">docs</a></p>');
});

test("markdown is safe: HTML is escaped and only http(s) links are made", () => {
  assert.equal(renderMarkdown("<img src=x onerror=alert(1)>"), "<p>&lt;img src=x onerror=alert(1)&gt;</p>");
  assert.equal(renderMarkdown("[x](javascript:alert(1))"), "<p>[x](javascript:alert(1))</p>");
  assert.ok(!renderMarkdown('[a](https://e.com/"onclick="x)').includes('"onclick'));
});
