import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildOpenApiDocument, serializeOpenApiDocument } from "../src/openapi";

/** `pnpm openapi`: rewrites docs/openapi.json from the route descriptors. */
const target = fileURLToPath(new URL("../../../docs/openapi.json", import.meta.url));
writeFileSync(target, serializeOpenApiDocument(buildOpenApiDocument()));
console.log(`wrote ${target}`);
