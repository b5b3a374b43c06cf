import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildOpenApiDocument, serializeOpenApiDocument } from "../src/openapi";
import { extractFieldDescriptions, renderDescriptionsModule } from "./extract-descriptions";

/**
 * `pnpm openapi`: re-extracts the protocol's JSDoc field descriptions into
 * src/openapi-descriptions.generated.ts, then rewrites docs/openapi.json from the route descriptors.
 */
const protocolSrc = fileURLToPath(new URL("../../../packages/protocol/src", import.meta.url));
const descriptions = extractFieldDescriptions(protocolSrc);
const module = fileURLToPath(new URL("../src/openapi-descriptions.generated.ts", import.meta.url));
writeFileSync(module, renderDescriptionsModule(descriptions));
const target = fileURLToPath(new URL("../../../docs/openapi.json", import.meta.url));
writeFileSync(target, serializeOpenApiDocument(buildOpenApiDocument({ descriptions })));
console.log(`wrote ${module} and ${target}`);
