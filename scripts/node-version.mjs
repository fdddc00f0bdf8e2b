// npm scripts must run on the pinned Node 24 (the `node` devDependency), not the machine's own.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `virtual-node: npm scripts are running on Node ${process.versions.node}; run \`npm ci\` first so the pinned Node 24 (devDependency "node") is used.`,
  );
  process.exit(1);
}
console.log(`node ${process.versions.node}`);
