// A front-end extension shipped by the example pack (served under /extensions/example_pack/).
// The editor loads every file listed by GET /extensions as an ES module.
export const name = "loom.example_pack";
console.log("example_pack front-end extension loaded");
