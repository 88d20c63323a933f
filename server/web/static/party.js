// A party's own page (`/parties/me#token=...`): its record in the library and the lots and
// openings it registered in, each a link to its room. The token stays in this tab only.
import { $, api, codeMessage, labelPage, offerTokenSignIn, roomToken, t } from "/static/openbid.js";

function list(id, items, path, key) {
  const shown = items.map((item) => {
    const li = document.createElement("li");
    const link = Object.assign(document.createElement("a"), { href: `/${path}/${item[key]}`, textContent: item[key] });
    li.append(link, ` · ${t("bidderId")} ${item.bidder_id}`);
    return li;
  });
  if (!shown.length) shown.push(Object.assign(document.createElement("li"), { textContent: t("nothingYet") }));
  $(id).replaceChildren(...shown);
}

async function load(token) {
  const answer = await api("/api/parties/me", { token });
  if (answer.status !== 200) {
    $("message").textContent = codeMessage(answer.body.code);
    return;
  }
  const { party, lots, openings } = answer.body;
  $("name").textContent = party.name;
  $("code").textContent = party.credit_code;
  $("account").textContent = party.account;
  $("contact").textContent = party.contact;
  list("lots", lots, "lots", "lot_id");
  list("openings", openings, "openings", "opening_id");
  $("party").hidden = false;
}

labelPage();
const token = roomToken();
offerTokenSignIn(Boolean(token));
if (token) load(token);
