// `/keys`: make this browser's signing key and show its public half, which the bidder gives
// the trading centre to register (the private half never leaves the browser).
import { $, labelPage, saveBlob, t } from "/static/openbid.js";
import { bidderKey, makeKey, publicPem } from "/static/keys.js";

async function show(pair) {
  $("pem").value = await publicPem(pair);
  $("keyshown").hidden = false;
  $("state").textContent = t("keyReady");
}

labelPage();
const found = await bidderKey();
if (found) await show(found); else $("state").textContent = t("noKeyYet");
$("make").onclick = async () => show(await makeKey());
$("save").onclick = () => saveBlob(new Blob([$("pem").value], { type: "application/x-pem-file" }), "openbid-public-key.pem");
