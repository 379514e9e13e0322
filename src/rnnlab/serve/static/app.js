// The page's only script: fill the model list, send the form to POST /api/poems, show poems or errors.
"use strict";

const $ = (id) => document.getElementById(id);
const FIELD_NAMES = {
  prefix: "首句 opening", acrostic: "藏头 acrostic", form: "体裁 form", num: "首数 poems",
  temperature: "温度 temperature", top_p: "top-p", seed: "种子 seed", model: "模型 model",
};

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

// FastAPI answers 422 with a list of field errors, rnnlab's own checks with one message.
// (couplet.js uses it too, with its own field names.)
function errorText(detail, names = FIELD_NAMES, fallback = "the server could not write poems") {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((e) => {
      const field = (e.loc || []).filter((part) => part !== "body").join(".");
      return `${names[field] || field}: ${e.msg}`;
    }).join("\n");
  }
  return fallback;
}

async function loadModels() {
  const select = $("model");
  try {
    const response = await fetch("/api/models");
    const models = await response.json();
    for (const m of models) {
      const option = new Option(m.name, m.name, m.default, m.default);
      option.dataset.description = m.description;
      select.add(option);
    }
  } catch (err) {
    showError(`could not list the models: ${err}`);
  }
  select.addEventListener("change", describeModel);
  describeModel();
}

function describeModel() {
  const option = $("model").selectedOptions[0];
  $("model-description").textContent = option ? option.dataset.description : "";
}

function requestBody() {
  const body = {
    prefix: $("prefix").value,
    acrostic: $("acrostic").value,
    form: $("form").value || null,
    rhyme: $("rhyme").checked,
    metre: $("metre").checked,
    tone_marks: true,
    num: Number($("num").value),
    temperature: Number($("temperature").value),
    top_p: Number($("top_p").value),
    model: $("model").value || undefined,
  };
  const seed = $("seed").value.trim();
  if (seed !== "") body.seed = Number(seed);
  return body;
}

// One line of tone marks under a verse line: a mark per character, aligned under it (the
// punctuation after the line gets an empty cell); a broken rule's character is marked and
// its rule shown on hover.
function toneRow(line, tones, faults) {
  const row = document.createElement("p");
  row.className = "tones";
  row.dataset.testid = "tones";
  let k = 0;
  for (const ch of line) {
    const cell = document.createElement("span");
    if (/[，。？！；：、,.]/.test(ch) || k >= tones.length) {
      cell.textContent = "\u3000";
    } else {
      cell.textContent = tones[k];
      cell.className = tones[k] === "平" ? "ping" : tones[k] === "仄" ? "ze" : "either";
      const fault = faults.get(k);
      if (fault) {
        cell.classList.add("fault");
        cell.title = `${fault.rule}: ${fault.detail}`;
      }
      k += 1;
    }
    row.append(cell);
  }
  return row;
}

function metreVerdict(metre) {
  if (!metre) return "";
  const rhyme = metre.rhyme_group ? ` · ${metre.rhyme_group}` : "";
  const verdict = metre.regulated ? "合律 regulated" : `${metre.violations.length} 处失律 violation(s)`;
  return ` · ${metre.pattern}${rhyme} · ${verdict}`;
}

function showPoems(result) {
  const list = $("poems");
  list.replaceChildren();
  result.poems.forEach((text, i) => {
    const metre = (result.metre || [])[i] || null;
    const poem = document.createElement("article");
    poem.className = "poem";
    poem.dataset.testid = "poem";
    const lines = document.createElement("div");
    lines.className = "lines";
    text.split("\n").forEach((line, n) => {
      const p = document.createElement("p");
      p.textContent = line;
      lines.append(p);
      if (metre && metre.tones[n]) {
        const faults = new Map(metre.violations.filter((v) => v.line === n).map((v) => [v.col, v]));
        lines.append(toneRow(line, metre.tones[n], faults));
      }
    });
    const footer = document.createElement("footer");
    footer.textContent = `${result.form_name} · ${result.model}${metreVerdict(metre)}`;
    poem.append(lines, footer);
    list.append(poem);
  });
}

async function generate(event) {
  event.preventDefault();
  const button = $("generate");
  button.disabled = true;
  showError("");
  $("status").textContent = "写诗中… writing";
  try {
    const response = await fetch("/api/poems", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(requestBody()),
    });
    const result = await response.json().catch(() => ({}));
    if (!response.ok) {
      showError(errorText(result.detail));
      $("status").textContent = "";
      return;
    }
    showPoems(result);
    $("status").textContent = "";
  } catch (err) {
    showError(`no answer from the server: ${err}`);
    $("status").textContent = "";
  } finally {
    button.disabled = false;
  }
}

for (const id of ["temperature", "top_p"]) {
  const slider = $(id);
  slider.addEventListener("input", () => { $(`${id}-out`).textContent = slider.value; });
}
$("poem-form").addEventListener("submit", generate);
loadModels();
