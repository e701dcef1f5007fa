// Salama programme view (supervisors): charts of /console/api/programme with Chart.js
// (vendored, bot/static/console/vendor/chartjs), a table under each chart, the CSV export and
// the console's accounts. The server has already hidden every count below 5 as "< 5".
"use strict";

const HIDDEN = "< 5";
const LABELS = {
  fr: {
    title: "Salama · Programme", other_lang: "العربية", logout: "Se déconnecter",
    period: "Période", last_30: "Les 30 derniers jours", a_month: "Un mois", month: "Mois", show: "Afficher",
    csv: "Exporter en CSV", span: "Du {first} au {last}.",
    suppressed: "Tout nombre inférieur à 5 est affiché « < 5 » : aucune femme ne doit pouvoir être reconnue.",
    key_figures: "Chiffres clés", total: "Total", median: "Médiane", no_median: "Médiane : moins de 5 prises en charge.",
    table_of: "Les chiffres de ce graphique", chart_img: "Graphique : {title}. Les chiffres sont dans le tableau qui suit.",
    col_value: "Nombre", hidden_note: "Barres absentes : moins de 5.",
    chart_conversations_per_day: "Nouvelles conversations par jour", chart_regions: "Région où elle cherche de l'aide",
    chart_handoff_reasons: "Conseillère demandée par elle, ou proposée par l'assistante",
    asked: "Demandée", offered: "Proposée puis acceptée",
    chart_topics: "De quoi elle parle", chart_handoff_regions: "Région des demandes de conseillère",
    violence: "Violences subies", places_of_help: "Lieux d'aide", legal: "Droits et démarches",
    counsellor: "Parler à une conseillère", safety_and_children: "Sécurité et enfants",
    emotional_support: "Soutien moral", information: "Informations sur Salama", erasure: "Effacement",
    not_understood: "Non compris",
    chart_varieties: "Langue du premier message", chart_channels: "Nouvelles conversations par canal",
    chart_messages_in: "Messages reçus par canal", chart_messages_out: "Messages envoyés par canal",
    chart_handoffs_asked: "Demandes d'une conseillère, par priorité",
    chart_handoff_wait: "Attente avant la prise en charge (minutes)",
    chart_fallbacks: "Réponses de secours (assistante lente ou arrêtée)", chart_emergencies: "Urgences, par langue",
    total_conversations: "Nouvelles conversations", total_handoffs: "Demandes d'une conseillère",
    total_handoffs_unclaimed: "Demandes restées sans conseillère", total_handoffs_after_hours: "Demandes hors horaires",
    total_erasures: "Effacements demandés", total_quick_exits: "Sorties rapides", total_stops: "STOP",
    total_emergencies: "Urgences", total_fallbacks: "Réponses de secours",
    dar_ar: "Darija (arabe)", dar_lat: "Darija (latin)", ar: "Arabe", fr: "Français",
    whatsapp: "WhatsApp", sms: "SMS", emergency: "Urgence", disclosure: "Violence signalée", other: "Autre",
    unknown: "Inconnue", rasa_slow: "Assistante lente", rasa_down: "Assistante arrêtée", error: "Erreur",
    accounts: "Comptes de la console", username: "Nom", role: "Rôle", state: "État", actions: "Actions",
    role_counsellor: "Conseillère", role_supervisor: "Superviseur·e", active: "Actif", disabled: "Désactivé",
    reset: "Nouveau mot de passe", disable: "Désactiver", enable: "Réactiver",
    new_account: "Nouveau compte", password_rule: "Mot de passe (10 caractères au moins)", create: "Créer le compte",
    ask_password: "Nouveau mot de passe pour {name} (10 caractères au moins)", save: "Enregistrer", cancel: "Annuler",
    confirm_disable: "Désactiver le compte {name} ? Ses sessions sont fermées.",
    created: "Compte créé.", changed: "C'est fait.",
    err_forbidden_role: "Cette page est réservée aux superviseur·es.",
    err_network: "Connexion au serveur perdue.",
  },
  ar: {
    title: "سلامة · البرنامج", other_lang: "Français", logout: "تسجيل الخروج",
    period: "الفترة", last_30: "آخر 30 يومًا", a_month: "شهر", month: "الشهر", show: "عرض",
    csv: "تصدير CSV", span: "من {first} إلى {last}.",
    suppressed: "كل عدد أقل من 5 يظهر « < 5 »: لا يجب أن يُتعرف على أي امرأة.",
    key_figures: "أرقام أساسية", total: "المجموع", median: "الوسيط", no_median: "الوسيط: أقل من 5 تكفلات.",
    table_of: "أرقام هذا الرسم", chart_img: "رسم بياني: {title}. الأرقام في الجدول الموالي.",
    col_value: "العدد", hidden_note: "الأعمدة الغائبة: أقل من 5.",
    chart_conversations_per_day: "المحادثات الجديدة في كل يوم", chart_regions: "الجهة التي تبحث فيها عن المساعدة",
    chart_handoff_reasons: "مستشارة طلبتها هي، أو اقترحتها المساعِدة",
    asked: "طلبتها", offered: "اقتُرحت وقبلتها",
    chart_topics: "موضوع رسائلها", chart_handoff_regions: "جهة طلبات المستشارة",
    violence: "العنف الذي تتعرض له", places_of_help: "أماكن المساعدة", legal: "الحقوق والإجراءات",
    counsellor: "التحدث مع مستشارة", safety_and_children: "السلامة والأطفال",
    emotional_support: "الدعم النفسي", information: "معلومات عن سلامة", erasure: "المسح",
    not_understood: "غير مفهوم",
    chart_varieties: "لغة الرسالة الأولى", chart_channels: "المحادثات الجديدة حسب القناة",
    chart_messages_in: "الرسائل الواردة حسب القناة", chart_messages_out: "الرسائل المرسلة حسب القناة",
    chart_handoffs_asked: "طلبات التحدث مع مستشارة حسب الأولوية",
    chart_handoff_wait: "الانتظار قبل التكفل (بالدقائق)",
    chart_fallbacks: "ردود احتياطية (المساعِدة بطيئة أو متوقفة)", chart_emergencies: "الحالات الطارئة حسب اللغة",
    total_conversations: "محادثات جديدة", total_handoffs: "طلبات مستشارة",
    total_handoffs_unclaimed: "طلبات بقيت دون مستشارة", total_handoffs_after_hours: "طلبات خارج أوقات العمل",
    total_erasures: "طلبات المسح", total_quick_exits: "خروج سريع", total_stops: "STOP",
    total_emergencies: "حالات طارئة", total_fallbacks: "ردود احتياطية",
    dar_ar: "الدارجة (حروف عربية)", dar_lat: "الدارجة (حروف لاتينية)", ar: "العربية", fr: "الفرنسية",
    whatsapp: "واتساب", sms: "رسالة نصية", emergency: "طارئ", disclosure: "إفصاح عن عنف", other: "أخرى",
    unknown: "غير معروفة", rasa_slow: "المساعِدة بطيئة", rasa_down: "المساعِدة متوقفة", error: "خطأ",
    accounts: "حسابات الواجهة", username: "الاسم", role: "الدور", state: "الحالة", actions: "إجراءات",
    role_counsellor: "مستشارة", role_supervisor: "مشرف(ة)", active: "نشط", disabled: "معطل",
    reset: "كلمة سر جديدة", disable: "تعطيل", enable: "تفعيل",
    new_account: "حساب جديد", password_rule: "كلمة السر (10 حروف على الأقل)", create: "إنشاء الحساب",
    ask_password: "كلمة سر جديدة لـ {name} (10 حروف على الأقل)", save: "حفظ", cancel: "إلغاء",
    confirm_disable: "تعطيل حساب {name}؟ ستُغلق جلساته.",
    created: "أُنشئ الحساب.", changed: "تم.",
    err_forbidden_role: "هذه الصفحة خاصة بالمشرفين.",
    err_network: "انقطع الاتصال بالخادم.",
  },
};
// Charts that get a tall box (many bars) and those drawn with horizontal bars.
const TALL = new Set(["regions", "handoff_regions", "topics", "conversations_per_day"]);
const HORIZONTAL = new Set(["regions", "handoff_regions", "topics"]);

const state = {
  lang: localStorage.getItem("salama.console.lang") === "ar" ? "ar" : "fr",
  csrf: null, username: null, month: "", view: null, accounts: [], charts: [],
};

const $ = (id) => document.getElementById(id);
const t = (key, vars = {}) =>
  (LABELS[state.lang][key] || LABELS.fr[key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");

// el, ApiError and apiRequest: common.js. The login is the console's page.
const api = (method, path, body) =>
  apiRequest(method, path, body, state.csrf, () => location.assign("/console"));

function notify(text, ok = false) {
  const box = $("alert");
  box.textContent = text;
  box.classList.toggle("ok", ok);
  box.hidden = false;
  setTimeout(() => { box.hidden = true; }, ok ? 3000 : 8000);
}

const errorText = (err) => (LABELS[state.lang][`err_${err.code}`] ? t(`err_${err.code}`) : err.message);
const number = (v) => (v === HIDDEN ? HIDDEN : new Intl.NumberFormat(state.lang === "ar" ? "ar-MA" : "fr-MA").format(v));
// "< 5" inside Arabic text would be mirrored to "5 >": numbers are isolated left to right.
const figure = (v) => el("bdi", { dir: "ltr", text: number(v) });

function labelOf(chart, key) {
  if (chart.id === "conversations_per_day") {
    return new Date(`${key}T12:00:00`).toLocaleDateString(state.lang === "ar" ? "ar-MA" : "fr-MA",
                                                           { day: "numeric", month: "short" });
  }
  if (chart.names) return (chart.names[key] || {})[state.lang] || t(key);
  if (chart.id === "handoff_wait") return key;
  return t(key);
}

// -- rendering --------------------------------------------------------------------------
function renderTotals() {
  const view = state.view;
  const charts = Object.fromEntries(view.charts.map((c) => [c.id, c]));
  const items = [
    ["total_conversations", charts.conversations_per_day.total],
    ["total_handoffs", charts.handoffs_asked.total],
    ["total_emergencies", charts.emergencies.total],
    ["total_handoffs_unclaimed", view.totals.handoffs_unclaimed],
    ["total_handoffs_after_hours", view.totals.handoffs_after_hours],
    ["total_fallbacks", charts.fallbacks.total],
    ["total_erasures", view.totals.erasures],
    ["total_quick_exits", view.totals.quick_exits],
    ["total_stops", view.totals.stops],
  ];
  $("totals").replaceChildren(...items.map(([key, value]) =>
    el("div", { "data-total": key }, el("dt", { text: t(key) }), el("dd", {}, figure(value)))));
}

function renderCharts() {
  for (const chart of state.charts) chart.destroy();
  state.charts = [];
  const rtl = state.lang === "ar";
  const boxes = state.view.charts.map((chart) => {
    const title = t(`chart_${chart.id}`);
    const canvas = el("canvas", { role: "img", "aria-label": t("chart_img", { title }) });
    const meta = [`${t("total")} : ${number(chart.total)}`];
    if (chart.id === "handoff_wait") meta.push(chart.median ? `${t("median")} : ${chart.median}` : t("no_median"));
    const rows = chart.labels.map((key, i) =>
      el("tr", {}, el("th", { scope: "row", text: labelOf(chart, key) }),
         el("td", { class: "num" }, figure(chart.values[i]))));
    const table = el("table", { class: "data" },
      el("caption", { class: "sr-only", text: `${t("table_of")} : ${title}` }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: title }), el("th", { scope: "col", text: t("col_value") }))),
      el("tbody", {}, ...rows),
      el("tfoot", {}, el("tr", {}, el("th", { scope: "row", text: t("total") }),
                         el("td", { class: "num", "data-total": chart.id }, figure(chart.total)))));
    const section = el("section", { class: "card", id: `chart-${chart.id}`, "aria-label": title },
      el("h2", { text: title }),
      el("p", { class: "chart-meta", text: `${meta.join(" · ")} · ${t("hidden_note")}` }),
      el("div", { class: `chart-box${TALL.has(chart.id) ? " tall" : ""}` }, canvas),
      el("div", { class: "table-scroll" }, table));
    const horizontal = HORIZONTAL.has(chart.id);
    state.charts.push(new Chart(canvas, {  // eslint-disable-line no-undef
      type: "bar",
      data: {
        labels: chart.labels.map((key) => labelOf(chart, key)),
        // A hidden cell is drawn as no bar: its number never exists on this page.
        datasets: [{ label: title, data: chart.values.map((v) => (v === HIDDEN ? null : v)),
                     backgroundColor: "#6b2f8f" }],
      },
      options: {
        indexAxis: horizontal ? "y" : "x", maintainAspectRatio: false, animation: false,
        locale: rtl ? "ar-MA" : "fr-MA",
        plugins: { legend: { display: false }, tooltip: { rtl } },
        scales: {
          x: { reverse: rtl && !horizontal, position: "bottom", beginAtZero: true },
          y: { position: rtl ? "right" : "left", beginAtZero: true, reverse: false },
        },
      },
    }));
    return section;
  });
  $("charts").replaceChildren(...boxes);
}

function renderAccounts() {
  const rows = state.accounts.map((account) => {
    const actions = el("td", { class: "row-actions" });
    const reset = el("button", { type: "button", text: t("reset") });
    reset.addEventListener("click", () => actions.replaceChildren(passwordForm(account.username)));
    actions.append(reset);
    if (account.username !== state.username) {
      const toggle = el("button", { type: "button", text: t(account.disabled ? "enable" : "disable") });
      toggle.addEventListener("click", () => setDisabled(account.username, !account.disabled));
      actions.append(toggle);
    }
    return el("tr", {}, el("td", { text: account.username, dir: "ltr" }), el("td", { text: t(`role_${account.role}`) }),
              el("td", { text: t(account.disabled ? "disabled" : "active") }), actions);
  });
  $("account-rows").replaceChildren(...rows);
}

function render() {
  document.documentElement.lang = state.lang;
  document.documentElement.dir = state.lang === "ar" ? "rtl" : "ltr";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  $("lang").textContent = t("other_lang");
  $("lang").lang = state.lang === "ar" ? "fr" : "ar";
  $("who").textContent = state.username || "";
  if (state.view) {
    $("span").textContent = t("span", { first: state.view.first_day, last: state.view.last_day });
    renderTotals();
    renderCharts();
  }
  renderAccounts();
}

// -- loading and actions -------------------------------------------------------------------
async function load() {
  const query = state.month ? `?month=${encodeURIComponent(state.month)}` : "";
  state.view = await api("GET", `/console/api/programme${query}`);
  $("csv").href = `/console/api/programme.csv${query}`;
  render();
  document.body.dataset.loaded = "yes";
}

async function loadAccounts() {
  state.accounts = (await api("GET", "/console/api/accounts")).accounts;
  renderAccounts();
}

async function change(method, path, body, done) {
  try {
    await api(method, path, body);
    notify(t(done), true);
  } catch (err) {
    notify(errorText(err));
  }
  await loadAccounts();
}

// A new password is typed in a password field (masked), never in a prompt().
function passwordForm(name) {
  const input = el("input", { type: "password", autocomplete: "new-password", minlength: "10", required: "",
                              "aria-label": t("ask_password", { name }) });
  const form = el("form", { class: "row-actions" }, input, el("button", { type: "submit", class: "primary", text: t("save") }),
                  el("button", { type: "button", text: t("cancel") }));
  form.lastChild.addEventListener("click", renderAccounts);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    change("POST", `/console/api/accounts/${encodeURIComponent(name)}/password`, { password: input.value }, "changed");
  });
  setTimeout(() => input.focus());
  return form;
}

function setDisabled(name, disabled) {
  if (disabled && !confirm(t("confirm_disable", { name }))) return;
  change("POST", `/console/api/accounts/${encodeURIComponent(name)}/${disabled ? "disable" : "enable"}`, undefined, "changed");
}

$("account-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  await change("POST", "/console/api/accounts", {
    username: $("new-name").value.trim(), password: $("new-password").value, role: $("new-role").value,
  }, "created");
  $("new-password").value = "";
});

$("period-kind").addEventListener("change", () => { $("month-label").hidden = $("period-kind").value !== "month"; });
$("period").addEventListener("submit", async (event) => {
  event.preventDefault();
  state.month = $("period-kind").value === "month" ? $("month").value : "";
  try { await load(); } catch (err) { notify(errorText(err)); }
});

$("lang").addEventListener("click", () => {
  state.lang = state.lang === "ar" ? "fr" : "ar";
  localStorage.setItem("salama.console.lang", state.lang);
  render();
});

$("logout").addEventListener("click", async () => {
  try { await api("POST", "/console/api/logout"); } catch (err) { /* leaving anyway */ }
  location.assign("/console");
});

(async function start() {
  render();
  try {
    const me = await api("GET", "/console/api/session");
    state.csrf = me.csrf_token;
    state.username = me.username;
    if (me.role !== "supervisor") return location.assign("/console");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;  // eslint-disable-line no-undef
    await Promise.all([load(), loadAccounts()]);
  } catch (err) {
    notify(errorText(err));
  }
})();
