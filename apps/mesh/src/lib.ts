export { type Mesh, type MeshOptions, startMesh } from "./mesh";
