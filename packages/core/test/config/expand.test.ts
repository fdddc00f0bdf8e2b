import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expandVars, expandVarsTracked } from "../../src/config/expand.js";

const vars: Record<string, string> = {
  A: "1",
  B: "2",
  EMPTY: "",
  "": "blank-name",
  ünï: "u",
  "A$(B": "weird",
};
const lookup = (name: string): string | undefined => (Object.hasOwn(vars, name) ? vars[name] : undefined);
const none = (): undefined => undefined;

describe("expandVars", () => {
  it.each([
    ["plain text", "plain text"],
    ["", ""],
    ["$(A)", "1"],
    ["x$(A)y", "x1y"],
    ["$(A)$(B)", "12"], // adjacent
    ["$(A)-$(B)-$(A)", "1-2-1"],
    ["$(EMPTY)", ""], // defined as empty
    ["$(UNDEFINED)", "$(UNDEFINED)"], // left as written
    ["a $(UNDEFINED) $(A)", "a $(UNDEFINED) 1"],
    ["$$", "$"], // escape
    ["$$$$", "$$"],
    ["$$(A)", "$(A)"], // escaped reference is never expanded
    ["$$$(A)", "$1"],
    ["$$$$(A)", "$$(A)"],
    ["$(A", "$(A"], // unterminated
    ["$(", "$("],
    ["x$(", "x$("],
    ["$(A$$", "$(A$"], // scanning resumes after an unterminated `$(`
    ["$(A $(B", "$(A $(B"],
    ["$", "$"], // trailing operator
    ["a$", "a$"],
    ["$A", "$A"], // not an expression
    ["$ (A)", "$ (A)"],
    ["$)", "$)"],
    ["$()", "blank-name"], // empty name is looked up
    ["$(A$(B))", "weird)"], // the name runs to the first `)`: nested references are not supported
    ["$(A$(C))", "$(A$(C))"],
    ["$(ünï)", "u"], // unicode
    ["ü$(A)ü", "ü1ü"],
    ["$é", "$é"],
    ["$😀$(A)", "$😀1"],
    ["😀$$😀", "😀$😀"],
    ["$$)", "$)"],
  ])("%j → %j", (input, expected) => {
    expect(expandVars(input, lookup)).toBe(expected);
  });

  it("leaves an undefined empty name as written", () => {
    expect(expandVars("$()", none)).toBe("$()");
  });

  it("is single-pass: substituted values are not expanded again", () => {
    const values: Record<string, string> = { A: "$(B)", B: "b", D: "$$" };
    const get = (n: string): string | undefined => values[n];
    expect(expandVars("$(A)", get)).toBe("$(B)");
    expect(expandVars("$(D)", get)).toBe("$$");
  });

  it("property: strings without `$` are unchanged", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }).filter((s) => !s.includes("$")),
        (s) => expandVars(s, lookup) === s,
      ),
    );
  });

  it("property: without `$$`, nothing defined means nothing changes", () => {
    fc.assert(
      fc.property(
        fc
          .string({ unit: fc.constantFrom("$", "(", ")", "A", "é", "😀", " ") })
          .filter((s) => !s.includes("$$")),
        (s) => expandVars(s, none) === s,
      ),
    );
  });

  it("property: escaping every `$` as `$$` round-trips", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("$", "(", ")", "A", "B", "x", "é") }), (s) => {
        return (
          expandVars(
            s.replaceAll("$", () => "$$"),
            lookup,
          ) === s
        );
      }),
    );
  });
});

describe("expandVarsTracked", () => {
  const tracked = (name: string) =>
    name === "PASSWORD"
      ? { value: "hunter2", secret: true }
      : name === "HOST"
        ? { value: "db", secret: false }
        : undefined;

  it("reports a substituted secret", () => {
    expect(expandVarsTracked("postgres://u:$(PASSWORD)@$(HOST)", tracked)).toEqual({
      value: "postgres://u:hunter2@db",
      usedSecret: true,
    });
  });

  it("does not flag plain substitutions, escaped or undefined references", () => {
    expect(expandVarsTracked("$(HOST) $$(PASSWORD) $(NOPE)", tracked)).toEqual({
      value: "db $(PASSWORD) $(NOPE)",
      usedSecret: false,
    });
    expect(expandVarsTracked("no references", tracked)).toEqual({
      value: "no references",
      usedSecret: false,
    });
  });
});
