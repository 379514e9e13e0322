// The 对联 tab: switch tabs, fill the couplet model list, send the form to POST /api/couplets.
// Loaded after app.js, whose errorText it shares.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const FIELDS = {
    upper: "上联 upper line", num: "副数 lines", beam: "束宽 beam", temperature: "温度 temperature",
    seed: "种子 seed", model: "模型 model",
  };

  function showTab(name) {
    for (const [tab, panel] of [["tab-poems", "poem-panel"], ["tab-couplets", "couplet-panel"]]) {
      const on = tab === `tab-${name}`;
      $(tab).setAttribute("aria-selected", String(on));
      $(panel).hidden = !on;
    }
  }

  function showError(message) {
    const box = $("couplet-error");
    box.textContent = message;
    box.hidden = !message;
  }

  async function loadModels() {
    const select = $("couplet-model");
    try {
      const models = await (await fetch("/api/couplets/models")).json();
      for (const m of models) {
        const option = new Option(m.name, m.name, m.default, m.default);
        option.dataset.description = m.description;
        select.add(option);
      }
    } catch (err) {
      showError(`could not list the couplet models: ${err}`);
    }
    const describe = () => {
      const option = select.selectedOptions[0];
      $("couplet-model-description").textContent = option ? option.dataset.description : "";
    };
    select.addEventListener("change", describe);
    describe();
  }

  function requestBody() {
    const body = {
      upper: $("upper").value,
      num: Number($("couplet-num").value),
      beam: Number($("beam").value),
      temperature: Number($("couplet-temperature").value),
      level_ending: $("level_ending").checked,
      no_repeat: !$("allow_repeat").checked,
      model: $("couplet-model").value || undefined,
    };
    const seed = $("couplet-seed").value.trim();
    if (seed !== "") body.seed = Number(seed);
    return body;
  }

  function showCouplets(result) {
    const list = $("couplets");
    list.replaceChildren();
    for (const lower of result.lowers) {
      const card = document.createElement("article");
      card.className = "poem couplet";
      card.dataset.testid = "couplet";
      const lines = document.createElement("div");
      lines.className = "lines";
      for (const [cls, text] of [["upper", result.upper], ["lower", lower]]) {
        const p = document.createElement("p");
        p.className = cls;
        p.textContent = text;
        lines.append(p);
      }
      const footer = document.createElement("footer");
      footer.textContent = `上联 · 下联 · ${result.model}`;
      card.append(lines, footer);
      list.append(card);
    }
  }

  async function answer(event) {
    event.preventDefault();
    const button = $("answer");
    button.disabled = true;
    showError("");
    $("couplet-status").textContent = "对句中… answering";
    try {
      const response = await fetch("/api/couplets", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(requestBody()),
      });
      const result = await response.json().catch(() => ({}));
      $("couplet-status").textContent = "";
      if (!response.ok) {
        showError(errorText(result.detail, FIELDS, "the server could not answer"));  // from app.js
        return;
      }
      showCouplets(result);
    } catch (err) {
      showError(`no answer from the server: ${err}`);
      $("couplet-status").textContent = "";
    } finally {
      button.disabled = false;
    }
  }

  $("tab-poems").addEventListener("click", () => showTab("poems"));
  $("tab-couplets").addEventListener("click", () => showTab("couplets"));
  const slider = $("couplet-temperature");
  slider.addEventListener("input", () => { $("couplet-temperature-out").textContent = slider.value; });
  $("couplet-form").addEventListener("submit", answer);
  loadModels();
})();
