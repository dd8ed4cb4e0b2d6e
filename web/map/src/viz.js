// The props a layer of a package's `fused:vizConfig` (as Workbench saves it, e.g.
// `{"vectorLayer": {"@@type": "GeoJsonLayer", "getFillColor": "@@=[properties.v * 20, 80, 0]"}}`)
// sets, hydrated by @deck.gl/json (`@@=` expressions become accessors, evaluated without `eval`:
// the pages' CSPs forbid it). The layer itself is the caller's: data, id and picking stay its
// own. Shared by the live map (main.js) and the result panel's map (result.js), so a package
// looks the same in both.

import { colorBins, colorCategories, colorContinuous } from "@deck.gl/carto";
import { JSONConverter } from "@deck.gl/json";

class PropsOf {
  constructor(props) {
    this.props = props;
  }
}
// Workbench's own vizConfig template colours by an attribute with CARTO's helpers
// (`"getFillColor": {"@@function": "colorContinuous", "attr": "metric", "domain": [0, 1],
// "colors": "Teal"}`): without them the accessor would be null.
const converter = new JSONConverter({
  configuration: {
    classes: { GeoJsonLayer: PropsOf, BitmapLayer: PropsOf, TileLayer: PropsOf, H3HexagonLayer: PropsOf },
    functions: { colorBins, colorCategories, colorContinuous },
  },
});

/** The props `viz[key]` sets (`{}` when it has none); `onError(message)` when it is unusable. */
export function vizProps(viz, key, onError) {
  const layer = viz && typeof viz === "object" ? viz[key] : null;
  if (!layer || typeof layer !== "object") return {};
  try {
    const converted = converter.convert(layer);
    const props = converted instanceof PropsOf ? converted.props : converted;
    if (!props || typeof props !== "object") return {};
    const { id, data, ...rest } = props; // eslint-disable-line no-unused-vars
    // What the converter could not make (an unknown `@@function` becomes null): the map's own
    // value stays, and the status line says which.
    const unknown = Object.keys(rest).filter((k) => rest[k] === null || rest[k] === undefined);
    for (const k of unknown) delete rest[k];
    if (unknown.length && onError) onError(`fused:vizConfig.${key}: ${unknown.join(", ")} not usable here (default used)`);
    return rest;
  } catch (e) {
    if (onError) onError(`fused:vizConfig.${key} is not usable: ${e}`);
    return {};
  }
}
