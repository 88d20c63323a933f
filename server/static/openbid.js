// OpenBid's browser side, shared by every page: language, money, the server's clock and a
// live room over the contract's WebSocket (openbid.json.v1) that resumes with `since`.
// Written here, no dependencies.

export const LANGS = ["zh-CN", "en"];

const TEXT = {
  "zh-CN": {
    price: "当前价", leader: "领先号牌", next: "最低应价", countdown: "剩余时间",
    phase: "阶段", plate: "我的号牌", deposit: "保证金", qualified: "已取得竞买资格",
    unqualified: "未取得竞买资格", bid: "出价", confirm: "确认出价", cancel: "取消",
    confirmText: "出价一经确认不可撤回。确认以 {price} 出价？", history: "出价记录",
    mine: "我的出价", time: "时间", accepted: "已接受", live: "已连接",
    connecting: "连接中…", down: "连接中断，正在重连…", none: "—", language: "English",
    step: "加一个增价幅度", unstep: "减一个增价幅度", chart: "价格走势", sent: "已提交…",
    outcome: "结果", sold: "成交", failed: "流拍",
    phases: { scheduled: "未开始", free: "自由报价", inquiry: "询价", limited: "限时竞价",
      sealed: "一次报价", dutch: "荷兰式竞价", capped: "已达最高限价", closed: "已结束" },
  },
  en: {
    price: "Current price", leader: "Leading plate", next: "Next minimum", countdown: "Time left",
    phase: "Phase", plate: "My plate", deposit: "Deposit", qualified: "Qualified to bid",
    unqualified: "Not qualified yet", bid: "Bid", confirm: "Confirm bid", cancel: "Cancel",
    confirmText: "A bid cannot be withdrawn. Bid {price}?", history: "Bids",
    mine: "My bids", time: "Time", accepted: "Accepted", live: "Connected",
    connecting: "Connecting…", down: "Connection lost, reconnecting…", none: "—",
    language: "中文", step: "Up one increment", unstep: "Down one increment",
    chart: "Price over time", sent: "Sent…", outcome: "Outcome", sold: "Sold",
    failed: "Failed",
    phases: { scheduled: "Not started", free: "Free bidding", inquiry: "Inquiry",
      limited: "Timed bidding", sealed: "Sealed bid", dutch: "Dutch", capped: "Price cap reached",
      closed: "Closed" },
  },
};

// Every code of the contract, in both languages: a nack always reads clearly.
const CODES = {
  NOT_QUALIFIED: ["您未取得竞买资格（保证金未足额到账）", "You are not qualified to bid (deposit not in full)"],
  PHASE_CLOSED: ["当前阶段不接受出价", "This phase does not accept bids"],
  TOO_LOW: ["报价低于最低应价", "The price is below the next minimum"],
  OFF_INCREMENT: ["报价须为增价幅度的整数倍", "The price is not on the increment grid"],
  CAP_REACHED: ["已达最高限价", "The price cap has been reached"],
  ALREADY_SUBMITTED: ["您已提交过", "You have already submitted"],
  RATE_LIMITED: ["操作过于频繁，请稍后再试", "Too many bids; slow down"],
  UNAUTHORIZED: ["身份验证失败，请使用正确的竞买链接", "Unknown token: use your bidder link"],
  FORBIDDEN: ["无权执行此操作", "Your role may not do this"],
  NOT_FOUND: ["未找到该标的", "No such lot"],
  BAD_MESSAGE: ["请求格式错误", "Malformed request"],
  CONFLICT: ["与已有数据冲突", "Conflicts with existing data"],
};

export function lang() {
  const asked = new URLSearchParams(location.search).get("lang") || localStorage.getItem("lang");
  return LANGS.includes(asked) ? asked : "zh-CN";
}

export function t(key) {
  return TEXT[lang()][key] ?? key;
}

export function phaseName(phase) {
  return TEXT[lang()].phases[phase] ?? phase;
}

export function codeMessage(code) {
  const found = CODES[code];
  return found ? found[lang() === "en" ? 1 : 0] : code;
}

export function switchLanguage() {
  localStorage.setItem("lang", lang() === "en" ? "zh-CN" : "en");
  const url = new URL(location.href);
  url.searchParams.delete("lang");
  location.replace(url);
}

export function money(fen, unit = "") {
  if (fen === null || fen === undefined) return t("none");
  const whole = Math.trunc(fen / 100).toLocaleString("en-US");
  return `${whole}.${String(Math.abs(fen % 100)).padStart(2, "0")}${unit ? " " + unit : ""}`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return t("none");
  const s = Math.max(0, Math.ceil(ms / 1000));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${two(mm)}:${two(ss)}`;
}

export function clockTime(ms) {
  return new Date(ms).toLocaleTimeString(lang(), { hour12: false, timeZone: "Asia/Shanghai" });
}

// The server's clock: each message's `server_now` and each pong fix an offset against
// performance.now(), which no change of the PC's clock moves. The countdown reads this.
export class ServerClock {
  constructor() { this.base = null; this.rtt = Infinity; }
  seen(serverNow, rtt = null) {
    if (rtt !== null && rtt <= this.rtt) {
      this.rtt = rtt;
      this.base = serverNow + rtt / 2 - performance.now();
    } else if (this.base === null) {
      this.base = serverNow - performance.now();
    }
  }
  now() { return this.base === null ? null : this.base + performance.now(); }
}

// A live room: hello, welcome, replay, live events; on a drop it reconnects and says
// `since` so nothing is missed and nothing doubles.
export class LiveRoom {
  constructor(kind, id, token, handlers) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/${kind}/${id}`;
    this.token = token; this.handlers = handlers; this.clock = new ServerClock();
    this.last = 0; this.tries = 0; this.pending = new Map();
  }
  start() { this.connect(); setInterval(() => this.ping(), 10000); }
  connect() {
    this.handlers.state?.("connecting");
    const ws = new WebSocket(this.url, ["openbid.json.v1"]);
    this.ws = ws;
    ws.onopen = () => {
      const hello = { type: "hello", since: this.last };
      if (this.token) hello.token = this.token;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (m) => this.receive(JSON.parse(m.data));
    ws.onclose = (closed) => {
      this.handlers.state?.("down", closed.code);
      if ([4401, 4403, 4404, 4009].includes(closed.code)) return; // resuming cannot help
      const wait = Math.min(10000, 500 * 2 ** this.tries++);
      setTimeout(() => this.connect(), wait);
    };
  }
  receive(m) {
    if (m.server_now !== undefined && m.type !== "pong") this.clock.seen(m.server_now);
    if (m.type === "welcome") {
      this.tries = 0;
      this.handlers.state?.("live");
      this.handlers.welcome?.(m);
      this.ping();
    } else if (m.type === "event") {
      if (m.seq <= this.last) return;
      this.last = m.seq;
      this.handlers.event?.(m);
    } else if (m.type === "pong") {
      this.clock.seen(m.server_now, performance.now() - m.t);
    } else if (m.type === "ack" || m.type === "nack" || m.type === "error") {
      this.handlers.answer?.(m);
    }
  }
  ping() {
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "ping", t: performance.now() }));
    }
  }
  send(message) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }
}
