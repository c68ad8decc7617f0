// Reads a VAST document on stdin, parses it the way a web player would (@dailymotion/vast-client
// with @xmldom/xmldom's DOMParser) and prints what the player would use, as JSON.
import { DOMParser } from "@xmldom/xmldom";
import { VASTParser } from "@dailymotion/vast-client";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const xml = Buffer.concat(chunks).toString("utf8");
const doc = new DOMParser().parseFromString(xml, "text/xml");
const response = await new VASTParser().parseVAST(doc);
const ads = response.ads.map((ad) => ({
  id: ad.id,
  adServingId: ad.adServingId,
  title: ad.title,
  advertiser: ad.advertiser ? ad.advertiser.value : null,
  impressions: ad.impressionURLTemplates.map((t) => t.url),
  creatives: ad.creatives.map((c) => ({
    type: c.type,
    id: c.id,
    adId: c.adId,
    duration: c.duration,
    skipDelay: c.skipDelay,
    universalAdIds: c.universalAdIds,
    mediaFiles: (c.mediaFiles || []).map((m) => ({
      url: m.fileURL,
      delivery: m.deliveryType,
      mime: m.mimeType,
      width: m.width,
      height: m.height,
    })),
    tracking: c.trackingEvents,
    clickThrough: c.videoClickThroughURLTemplate ? c.videoClickThroughURLTemplate.url : null,
  })),
}));
process.stdout.write(JSON.stringify({ version: response.version, ads }));
