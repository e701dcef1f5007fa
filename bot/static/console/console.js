// Salama counsellor console: talks to /console/api and listens on /console/ws. A supervisor
// who logs in here is sent to the programme view (/console/programme).
// No framework, no external asset; untrusted text only ever goes through textContent.
"use strict";

const LABELS = {
  fr: {
    title: "Salama · Console", other_lang: "العربية", logout: "Se déconnecter",
    login_title: "Connexion des conseillères", username: "Nom", password: "Mot de passe", login: "Se connecter",
    tab_waiting: "En attente", tab_mine: "Les miennes", tab_active: "En cours",
    empty: "Aucune conversation ici.", pick: "Choisissez une conversation dans la file.",
    back: "File", claim: "Prendre en charge", release: "Rendre au bot", close: "Clore",
    canned: "Réponses types en", send: "Envoyer", reply_label: "Votre réponse",
    reply_hint: "Ses premiers mots s'affichent sur son écran verrouillé : commencez par une phrase neutre.",
    notes: "Notes internes (jamais envoyées)", note_label: "Note", add_note: "Ajouter la note",
    conversation: "Conversation", prio_2: "Urgence", prio_1: "Violence signalée", prio_0: "Autre",
    status_waiting: "En attente", status_active: "Prise en charge",
    whatsapp: "WhatsApp", sms: "SMS", region: "Région",
    lang_dar_ar: "Darija (arabe)", lang_dar_lat: "Darija (latin)", lang_ar: "Arabe", lang_fr: "Français",
    waiting_since: "en attente", last: "dernier message",
    from_user: "Elle", from_bot: "Salama (assistante automatique)", from_counsellor: "Conseillère",
    from_user_short: "Elle", from_bot_short: "Salama", from_counsellor_short: "Conseillère",
    owner_other: "Prise en charge par {name}.",
    window_until: "Fenêtre WhatsApp ouverte jusqu'à {time}",
    window_closed: "Son dernier message date de plus de 24 heures : WhatsApp ne livrera pas une réponse libre.",
    window_template: "Seul le modèle WhatsApp approuvé ({sid}) peut encore lui parvenir ; elle pourra vous répondre ensuite.",
    window_no_template: "Aucun modèle WhatsApp n'est configuré : attendez qu'elle écrive à nouveau.",
    send_template: "Envoyer le modèle WhatsApp",
    confirm_release: "Rendre cette conversation à l'assistante automatique ? Elle en sera informée.",
    confirm_close: "Clore cette conversation ? Elle sera rendue à l'assistante automatique et elle en sera informée.",
    released: "La conversation est rendue à l'assistante automatique.",
    sent: "Message envoyé.", note_added: "Note ajoutée.", claimed: "Conversation prise en charge.",
    erased: "Elle a effacé sa conversation.", gone: "Cette conversation n'est plus dans la file.",
    err_bad_credentials: "Nom ou mot de passe incorrect.",
    err_too_many_attempts: "Trop d'essais : réessayez dans {retry_after} s.",
    err_unavailable: "Connexion momentanément impossible : réessayez dans un instant.",
    err_not_logged_in: "Session expirée : reconnectez-vous.",
    err_csrf: "Session expirée : reconnectez-vous.",
    err_claimed_by_other: "Une autre conseillère a déjà pris cette conversation.",
    err_not_claimed: "Prenez d'abord la conversation en charge.",
    err_whatsapp_window_closed: "Son dernier message date de plus de 24 heures : WhatsApp ne livrera pas une réponse libre.",
    err_opted_out: "Elle a demandé à ne plus recevoir de messages (STOP).",
    err_quiet: "Elle a utilisé le mot de sortie rapide : rien n'est envoyé tant qu'elle n'écrit pas.",
    err_not_found: "Cette conversation n'est plus dans la file.",
    err_closed: "Cette conversation est revenue à l'assistante automatique.",
    err_empty_text: "Le message est vide.", err_too_long: "Le message est trop long.",
    err_network: "Connexion au serveur perdue. Nouvel essai…",
  },
  ar: {
    title: "سلامة · المستشارات", other_lang: "Français", logout: "تسجيل الخروج",
    login_title: "دخول المستشارات", username: "الاسم", password: "كلمة السر", login: "دخول",
    tab_waiting: "في الانتظار", tab_mine: "محادثاتي", tab_active: "قيد المتابعة",
    empty: "لا توجد محادثات هنا.", pick: "اختاري محادثة من القائمة.",
    back: "القائمة", claim: "التكفل بالمحادثة", release: "إرجاعها للآلية", close: "إغلاق",
    canned: "ردود جاهزة بـ", send: "إرسال", reply_label: "ردك",
    reply_hint: "أول كلمات ردك تظهر على شاشة هاتفها المقفلة: ابدئي بجملة عادية.",
    notes: "ملاحظات داخلية (لا تُرسل أبدًا)", note_label: "ملاحظة", add_note: "إضافة الملاحظة",
    conversation: "محادثة", prio_2: "طارئ", prio_1: "إفصاح عن عنف", prio_0: "أخرى",
    status_waiting: "في الانتظار", status_active: "قيد المتابعة",
    whatsapp: "واتساب", sms: "رسالة نصية", region: "الجهة",
    lang_dar_ar: "الدارجة (حروف عربية)", lang_dar_lat: "الدارجة (حروف لاتينية)", lang_ar: "العربية", lang_fr: "الفرنسية",
    waiting_since: "في الانتظار", last: "آخر رسالة",
    from_user: "هي", from_bot: "سلامة (المساعِدة الآلية)", from_counsellor: "المستشارة",
    from_user_short: "هي", from_bot_short: "سلامة", from_counsellor_short: "المستشارة",
    owner_other: "تتكفل بها {name}.",
    window_until: "نافذة واتساب مفتوحة حتى {time}",
    window_closed: "آخر رسالة منها أقدم من 24 ساعة: واتساب لن يوصل ردًا حرًا.",
    window_template: "وحده نموذج واتساب المعتمد ({sid}) يمكن أن يصلها الآن؛ بعدها يمكنها أن ترد عليك.",
    window_no_template: "لا يوجد نموذج واتساب معتمد: انتظري أن تكتب من جديد.",
    send_template: "إرسال نموذج واتساب",
    confirm_release: "إرجاع هذه المحادثة إلى المساعِدة الآلية؟ سيتم إخبارها بذلك.",
    confirm_close: "إغلاق هذه المحادثة؟ ستعود إلى المساعِدة الآلية وسيتم إخبارها بذلك.",
    released: "أُرجعت المحادثة إلى المساعِدة الآلية.",
    sent: "أُرسلت الرسالة.", note_added: "أُضيفت الملاحظة.", claimed: "تكفلتِ بالمحادثة.",
    erased: "مسحت محادثتها.", gone: "هذه المحادثة لم تعد في القائمة.",
    err_bad_credentials: "الاسم أو كلمة السر غير صحيحة.",
    err_too_many_attempts: "محاولات كثيرة: حاولي مجددًا بعد {retry_after} ثانية.",
    err_unavailable: "تعذّر تسجيل الدخول مؤقتًا: حاولي بعد لحظات.",
    err_not_logged_in: "انتهت الجلسة: سجلي الدخول من جديد.",
    err_csrf: "انتهت الجلسة: سجلي الدخول من جديد.",
    err_claimed_by_other: "مستشارة أخرى تكفلت بهذه المحادثة.",
    err_not_claimed: "تكفلي بالمحادثة أولًا.",
    err_whatsapp_window_closed: "آخر رسالة منها أقدم من 24 ساعة: واتساب لن يوصل ردًا حرًا.",
    err_opted_out: "طلبت ألا تصلها رسائل (STOP).",
    err_quiet: "استعملت كلمة الخروج السريع: لن يُرسل شيء حتى تكتب.",
    err_not_found: "هذه المحادثة لم تعد في القائمة.",
    err_closed: "عادت هذه المحادثة إلى المساعِدة الآلية.",
    err_empty_text: "الرسالة فارغة.", err_too_long: "الرسالة طويلة جدًا.",
    err_network: "انقطع الاتصال بالخادم. محاولة جديدة…",
  },
};
const VARIETIES = ["dar_ar", "dar_lat", "ar", "fr"];
const LISTS = ["waiting", "mine", "active"];

const state = {
  lang: localStorage.getItem("salama.console.lang") === "ar" ? "ar" : "fr",
  csrf: null, username: null, list: "waiting", lists: {}, openId: null, conv: null,
  canned: [], variety: null, varietyPicked: false, socket: null, refreshTimer: null,
  followLatest: true,  // keep the newest message in view unless she scrolled back to read
};

const $ = (id) => document.getElementById(id);
const t = (key, vars = {}) =>
  (LABELS[state.lang][key] || LABELS.fr[key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");

// -- talking to the server ----------------------------------------------------------
// el, ApiError and apiRequest: common.js.
const api = (method, path, body) =>
  apiRequest(method, path, body, state.csrf, (where) => { if (where !== "/console/api/login") showLogin(); });

function message(err) {
  const key = `err_${err.code}`;
  return LABELS[state.lang][key] ? t(key, err.body) : err.message;
}

let alertTimer = null;
function notify(text, ok = false) {
  const box = $("alert");
  box.textContent = text;
  box.classList.toggle("ok", ok);
  box.hidden = false;
  clearTimeout(alertTimer);
  alertTimer = setTimeout(() => { box.hidden = true; }, ok ? 3000 : 8000);
}

// -- language -----------------------------------------------------------------------
function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.documentElement.dir = state.lang === "ar" ? "rtl" : "ltr";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll("[data-placeholder]")) node.placeholder = t(node.dataset.placeholder);
  $("lang").textContent = t("other_lang");
  $("lang").lang = state.lang === "ar" ? "fr" : "ar";
  renderVarieties();
  renderQueue();
  renderConversation();
}

$("lang").addEventListener("click", () => {
  state.lang = state.lang === "ar" ? "fr" : "ar";
  localStorage.setItem("salama.console.lang", state.lang);
  $("alert").hidden = true;
  applyLanguage();
});

// -- login and logout ----------------------------------------------------------------
function showLogin() {
  state.csrf = state.username = null;
  if (state.socket) state.socket.close();
  $("app-view").hidden = true;
  $("logout").hidden = $("who").hidden = true;
  $("login-view").hidden = false;
  $("username").focus();
}

async function showApp() {
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("logout").hidden = $("who").hidden = false;
  $("who").textContent = state.username;
  if (!state.canned.length) state.canned = (await api("GET", "/console/api/canned")).canned;
  renderVarieties();
  connect();
  await refresh();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const data = await api("POST", "/console/api/login",
                           { username: $("username").value.trim(), password: $("password").value });
    state.csrf = data.csrf_token;
    state.username = data.username;
    $("password").value = "";
    $("alert").hidden = true;
    if (data.role === "supervisor") return location.assign("/console/programme");
    await showApp();
  } catch (err) {
    notify(message(err));
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("POST", "/console/api/logout"); } catch (err) { /* leaving anyway */ }
  closeConversation();
  showLogin();
});

// -- the queue ------------------------------------------------------------------------
function ago(seconds) {
  if (!seconds) return "";
  const diff = seconds - Date.now() / 1000;
  const fmt = new Intl.RelativeTimeFormat(state.lang === "ar" ? "ar-MA" : "fr-MA", { numeric: "auto" });
  const abs = Math.abs(diff);
  if (abs < 60) return fmt.format(Math.round(diff), "second");
  if (abs < 3600) return fmt.format(Math.round(diff / 60), "minute");
  if (abs < 86400) return fmt.format(Math.round(diff / 3600), "hour");
  return fmt.format(Math.round(diff / 86400), "day");
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleString(state.lang === "ar" ? "ar-MA" : "fr-MA",
    { hour: "2-digit", minute: "2-digit", day: "numeric", month: "short" });
}

const shortId = (id) => `#${id.slice(0, 9)}`;

async function refresh() {
  if (!state.csrf) return;
  try {
    const results = await Promise.all(LISTS.map((name) => api("GET", `/console/api/conversations?status=${name}`)));
    LISTS.forEach((name, i) => { state.lists[name] = results[i].conversations; });
    renderQueue();
    if (state.openId) await loadConversation(state.openId, true);
  } catch (err) {
    if (err.status !== 401) notify(message(err));
  }
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 120);
}

function renderQueue() {
  for (const tab of document.querySelectorAll(".tabs [data-list]")) {
    const name = tab.dataset.list;
    tab.setAttribute("aria-selected", String(name === state.list));
    tab.querySelector(".count").textContent = state.lists[name] ? String(state.lists[name].length) : "";
  }
  const items = state.lists[state.list] || [];
  const queue = $("queue");
  queue.replaceChildren(...items.map(queueItem));
  $("queue-empty").hidden = items.length > 0;
}

function queueItem(c) {
  const badges = el("span", { class: "line" },
    el("span", { class: "pseudo", text: shortId(c.id) }),
    el("span", { class: `badge prio-${c.priority}`, text: t(`prio_${c.priority}`) }),
    el("span", { class: "badge", text: t(c.channel) }),
    c.language ? el("span", { class: "badge", text: t(`lang_${c.language}`) }) : null,
    c.region ? el("span", { class: "badge", text: `${t("region")} ${c.region}` }) : null);
  const since = c.status === "waiting"
    ? `${t("waiting_since")} · ${ago(c.waiting_since)}`
    : `${t("status_active")} · ${c.counsellor || ""}`;
  const button = el("button", { type: "button", class: `item prio-${c.priority}`, "data-id": c.id },
    badges,
    el("span", { class: "since", text: since }),
    c.last_message ? el("span", { class: "preview" },
      el("span", { class: "from", text: `${t(`from_${c.last_message.from}_short`)}: ` }),
      el("bdi", { dir: "auto", text: c.last_message.text })) : null);
  if (c.id === state.openId) button.classList.add("open");
  button.addEventListener("click", () => openConversation(c.id));
  return el("li", {}, button);
}

for (const tab of document.querySelectorAll(".tabs [data-list]")) {
  tab.addEventListener("click", () => { state.list = tab.dataset.list; renderQueue(); });
}

// -- one conversation ------------------------------------------------------------------
async function openConversation(id) {
  state.openId = id;
  state.variety = null;
  state.varietyPicked = false;
  state.followLatest = true;
  $("reply-text").value = "";
  await loadConversation(id, false);
  $("app-view").classList.add("reading");
  renderQueue();
}

function closeConversation() {
  state.openId = null;
  state.conv = null;
  $("app-view").classList.remove("reading");
  renderConversation();
  renderQueue();
}

$("back").addEventListener("click", closeConversation);
$("messages").addEventListener("scroll", (event) => {
  const list = event.target;
  state.followLatest = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
});
window.addEventListener("resize", () => {
  if (state.followLatest) $("messages").scrollTop = $("messages").scrollHeight;
});

async function loadConversation(id, quiet) {
  try {
    const conv = await api("GET", `/console/api/conversations/${encodeURIComponent(id)}`);
    if (state.openId !== id) return;
    state.conv = conv;
    // Canned replies follow the variety she writes in, unless the counsellor chose one.
    if (!state.varietyPicked) state.variety = VARIETIES.includes(conv.language) ? conv.language : "dar_ar";
    renderConversation();
  } catch (err) {
    if (err.status === 404 && state.openId === id) {
      closeConversation();
      if (quiet) notify(t("gone"));
    }
    if (!quiet || err.status !== 404) notify(message(err));
  }
}

function renderConversation() {
  const c = state.conv;
  $("conv").hidden = !c;
  $("conv-none").hidden = Boolean(c);
  if (!c) return;
  const mine = c.status === "active" && c.mine;
  $("conv-title").replaceChildren(`${t("conversation")} `, el("span", { class: "pseudo", text: shortId(c.id) }));
  $("conv-title").title = c.id;
  const meta = [t(`status_${c.status}`), t(`prio_${c.priority}`), t(c.channel)];
  if (c.language) meta.push(t(`lang_${c.language}`));
  if (c.region) meta.push(`${t("region")} ${c.region}`);
  if (c.reply_window.applies && c.reply_window.open) meta.push(t("window_until", { time: clock(c.reply_window.closes_at) }));
  $("conv-meta").textContent = meta.join(" · ");

  $("claim").hidden = c.status !== "waiting";
  $("release").hidden = $("close").hidden = !mine;
  $("reply-form").hidden = $("note-form").hidden = !mine;  // notes too: only on her own
  const owner = $("conv-owner");
  owner.hidden = c.status !== "active" || mine;
  owner.textContent = t("owner_other", { name: c.counsellor || "" });

  const closed = c.reply_window.applies && !c.reply_window.open;
  const warning = $("window-warning");
  warning.hidden = !(mine && closed);
  warning.textContent = closed
    ? `${t("window_closed")} ${c.template_sid ? t("window_template", { sid: c.template_sid }) : t("window_no_template")}`
    : "";
  $("send").disabled = closed;
  $("send-template").hidden = !(mine && closed && c.template_sid);

  const list = $("messages");
  list.replaceChildren(...c.messages.map(bubble));
  if (state.followLatest) list.scrollTop = list.scrollHeight;

  $("notes").replaceChildren(...c.notes.map((n) => el("li", {},
    el("span", { class: "who", text: `${n.counsellor} · ${clock(n.at)}` }),
    el("p", { class: "text", dir: "auto", text: n.text }))));
  renderCanned();
}

function bubble(m) {
  const who = m.from === "counsellor" ? `${t("from_counsellor")} ${m.counsellor || ""}` : t(`from_${m.from}`);
  return el("li", { class: `bubble from-${m.from}` },
    el("span", { class: "who", text: `${who} · ${clock(m.at)}` }),
    el("p", { class: "text", dir: "auto", text: m.text }));
}

function renderVarieties() {
  const select = $("canned-variety");
  const current = state.variety;
  select.replaceChildren(...VARIETIES.map((v) => el("option", { value: v, text: t(`lang_${v}`) })));
  if (current) select.value = current;
}

$("canned-variety").addEventListener("change", (event) => {
  state.variety = event.target.value;
  state.varietyPicked = true;
  renderCanned();
});

function renderCanned() {
  if (state.variety) $("canned-variety").value = state.variety;
  $("canned-buttons").replaceChildren(...state.canned.map((reply) => {
    const button = el("button", { type: "button", text: reply.label[state.lang] || reply.label.fr });
    button.addEventListener("click", () => {
      const box = $("reply-text");
      const text = reply.texts[state.variety] || reply.texts.dar_ar;
      box.value = box.value.trim() ? `${box.value.trim()}\n${text}` : text;
      box.focus();
    });
    return button;
  }));
}

// -- actions ---------------------------------------------------------------------------
async function act(path, body) {
  // Returns true when the server accepted; the caller refreshes after its own bookkeeping.
  try {
    await api("POST", `/console/api/conversations/${encodeURIComponent(state.openId)}/${path}`, body);
    return true;
  } catch (err) {
    notify(message(err));
    return false;
  }
}

$("send-template").addEventListener("click", async () => {
  $("send-template").disabled = true;
  await act("template", {});
  $("send-template").disabled = false;
  await refresh();
});

$("claim").addEventListener("click", async () => {
  if (await act("claim")) {
    state.list = "mine";
    notify(t("claimed"), true);
  }
  await refresh();
});

$("reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = $("reply-text");
  const text = box.value.trim();
  if (!text) return;
  $("send").disabled = true;
  if (await act("messages", { text })) box.value = "";
  await refresh();
  $("send").disabled = Boolean(state.conv && state.conv.reply_window.applies && !state.conv.reply_window.open);
});

$("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = $("note-text");
  const text = box.value.trim();
  if (text && await act("notes", { text })) {
    box.value = "";
    notify(t("note_added"), true);
  }
  await refresh();
});

for (const action of ["release", "close"]) {
  $(action).addEventListener("click", async () => {
    if (!window.confirm(t(`confirm_${action}`))) return;
    if (await act(action)) {
      closeConversation();
      notify(t("released"), true);
    }
    await refresh();
  });
}

// -- live updates --------------------------------------------------------------------------
function connect() {
  if (state.socket && state.socket.readyState <= WebSocket.OPEN) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/console/ws`);
  state.socket = socket;
  socket.addEventListener("open", () => { document.body.dataset.live = "on"; scheduleRefresh(); });
  socket.addEventListener("message", (event) => {
    let data;
    try { data = JSON.parse(event.data); } catch (err) { return; }
    if (data.type === "erased" && data.id === state.openId) {
      closeConversation();
      notify(t("erased"));
    }
    scheduleRefresh();
  });
  socket.addEventListener("close", () => {
    document.body.dataset.live = "off";
    if (state.socket === socket) state.socket = null;
    if (state.csrf) setTimeout(connect, 2000);
  });
}

// A slow poll as well, in case a socket is cut without anyone noticing.
setInterval(() => { if (state.csrf && !document.hidden) refresh(); }, 30000);

(async function start() {
  applyLanguage();
  try {
    const me = await api("GET", "/console/api/session");
    state.csrf = me.csrf_token;
    state.username = me.username;
    if (me.role === "supervisor") return location.assign("/console/programme");
    await showApp();
  } catch (err) {
    showLogin();
  }
})();
