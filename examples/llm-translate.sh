#!/bin/sh
# A `tq work` program for the gallia pipeline's translate stage: one ticket per run.
#
#   tq work gallia --stage translate --concurrency 4 -- ./examples/llm-translate.sh
#
# In:  the ticket's input_data on stdin: {"walk_id", "beats": [{"node_id", "speaker", "text"}]}
# Out: the output JSON on stdout: {"walk_id", "translated_texts": [{"node_id", "text"}],
#      "new_nouns": [{"noun", "source", "node_ids"}]}; usage into $TQ_USAGE, concerns into
#      $TQ_CONCERNS (one JSON object per line). Anything on stderr lands in the run's logs/.
#
# With ANTHROPIC_API_KEY set it asks Claude (LLM_MODEL, default claude-haiku-4-5) through the
# Messages API with curl; without it, a deterministic stand-in translates, so the pipeline runs
# anywhere. A non-zero exit (the API refused, the model answered something that is not JSON)
# fails the attempt: tq keeps the stderr tail on the ticket and retries it.
# Needs only sh, node (which tq needs anyway) and, for the model, curl.
set -eu

input=$(cat)

# The stand-in: the demo's phrase book, and the proper nouns it knows.
standin=$(cat <<'JS'
const fs = require("node:fs");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const phrases = [[/the Legion/gi, "la Légion"], [/the dam/gi, "le Barrage"], [/the Republic/gi, "l'Hexagone"], [/papers/gi, "papiers"], [/permit/gi, "laissez-passer"], [/clerk/gi, "fonctionnaire"]];
const known = { Legion: "la Légion", dam: "Barrage", Republic: "Hexagone" };
const nouns = new Map();
const translated_texts = (input.beats ?? []).map((b) => {
  let text = b.text;
  for (const [re, to] of phrases) text = text.replace(re, to);
  for (const [source, noun] of Object.entries(known)) {
    if (!b.text.includes(source)) continue;
    const n = nouns.get(noun) ?? { noun, source, node_ids: [] };
    n.node_ids.push(b.node_id);
    nouns.set(noun, n);
  }
  if (/triplicate/.test(b.text) && process.env.TQ_CONCERNS) {
    fs.appendFileSync(process.env.TQ_CONCERNS, JSON.stringify({ level: "review", message: `idiom "in triplicate" kept literally at ${b.node_id}`, suggestion: "check the Gallia style guide" }) + "\n");
  }
  return { node_id: b.node_id, text: `« ${text} »` };
});
const chars = JSON.stringify(input).length;
if (process.env.TQ_USAGE) fs.writeFileSync(process.env.TQ_USAGE, JSON.stringify({ model: "stand-in", input_tokens: Math.ceil(chars / 4), output_tokens: Math.ceil(chars / 5) }));
process.stdout.write(JSON.stringify({ walk_id: input.walk_id ?? "", translated_texts, new_nouns: [...nouns.values()] }) + "\n");
JS
)

# The Messages API request for one walk.
request=$(cat <<'JS'
const input = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const prompt = [
  "Translate each dialogue beat below into French in the Gallia register: bureaucratic, procedural, dry.",
  "List the proper nouns you met (places, factions, people) with the French form you chose.",
  'Answer with JSON only: {"translated_texts": [{"node_id": "...", "text": "..."}], "new_nouns": [{"noun": "<French form>", "source": "<English>", "node_ids": ["..."]}]}',
  "Keep every node_id exactly as given.",
  "",
  JSON.stringify(input.beats ?? []),
].join("\n");
process.stdout.write(JSON.stringify({ model: process.env.LLM_MODEL || "claude-haiku-4-5", max_tokens: 4096, messages: [{ role: "user", content: prompt }] }));
JS
)

# The model's answer -> the output JSON (and the usage it reports).
answer=$(cat <<'JS'
const fs = require("node:fs");
const walkId = process.argv[1];
const r = JSON.parse(fs.readFileSync(0, "utf8"));
if (r.type === "error" || !Array.isArray(r.content)) {
  console.error(`the API refused: ${JSON.stringify(r.error ?? r).slice(0, 500)}`);
  process.exit(1);
}
const text = r.content.filter((c) => c.type === "text").map((c) => c.text).join("").trim();
const body = text.replace(/^```(?:json)?\s*/, "").replace(/\s*```$/, "");
let out;
try {
  out = JSON.parse(body);
} catch (err) {
  console.error(`the model did not answer JSON (${err.message}); it said: ${text.slice(0, 300)}`);
  process.exit(1);
}
if (process.env.TQ_USAGE && r.usage) fs.writeFileSync(process.env.TQ_USAGE, JSON.stringify({ model: r.model, input_tokens: r.usage.input_tokens, output_tokens: r.usage.output_tokens }));
process.stdout.write(JSON.stringify({ walk_id: walkId, translated_texts: out.translated_texts ?? [], new_nouns: out.new_nouns ?? [] }) + "\n");
JS
)

if [ -z "${ANTHROPIC_API_KEY:-}" ]; then
  echo "llm-translate: no ANTHROPIC_API_KEY: deterministic stand-in for ${TQ_TICKET_ID:-?}" >&2
  printf '%s' "$input" | node -e "$standin"
  exit 0
fi

walk_id=$(printf '%s' "$input" | node -e 'process.stdout.write(String(JSON.parse(require("node:fs").readFileSync(0, "utf8")).walk_id ?? ""))')
echo "llm-translate: asking ${LLM_MODEL:-claude-haiku-4-5} for ${TQ_TICKET_ID:-?} (attempt ${TQ_ATTEMPT:-1})" >&2
printf '%s' "$input" | node -e "$request" \
  | curl -sS https://api.anthropic.com/v1/messages \
      -H "x-api-key: $ANTHROPIC_API_KEY" -H "anthropic-version: 2023-06-01" -H "content-type: application/json" \
      --data-binary @- \
  | node -e "$answer" "$walk_id"
