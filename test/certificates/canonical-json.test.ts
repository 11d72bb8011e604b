import { describe, expect, it } from "vitest";
import { CanonicalJsonError, canonicalJson } from "../../server/certificates/canonical-json.ts";

const fromHex = (hex: string) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
};

describe("canonicalJson (RFC 8785)", () => {
  it("serialises the RFC 8785 §3.2.2 example exactly", () => {
    // Parsed from the RFC's input text, so number literals go through the same parse as on the wire.
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)", () => {
    const input = JSON.parse('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}');
    // Compare the text itself: JSON.parse would move the integer-like key "1" first again.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    ["0000000000000000", "0"],
    ["8000000000000000", "0"],
    ["0000000000000001", "5e-324"],
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"],
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"],
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"],
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef4f", "999999999999999900000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555553", "333333333.3333332"],
    ["41b3de4355555554", "333333333.33333325"],
    ["41b3de4355555555", "333333333.3333333"],
    ["41b3de4355555556", "333333333.3333334"],
    ["41b3de4355555557", "333333333.33333343"],
    ["becbf647612f3696", "-0.0000033333333333333333"],
    ["43143ff3c1cb0959", "1424953923781206.2"],
  ])("number 0x%s → %s (RFC 8785 Appendix B)", (hex, expected) => {
    expect(canonicalJson(fromHex(hex))).toBe(expected);
  });

  it("rejects NaN, Infinity and non-JSON values with the path", () => {
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow(/at \$\.a\[1\]/);
    expect(() => canonicalJson({ b: Infinity })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ c: new Date(0) })).toThrow(/Date is not a plain JSON object/);
    expect(() => canonicalJson([undefined])).toThrow(/undefined/);
    expect(() => canonicalJson(10n)).toThrow(/bigint/);
  });

  it("writes members the caller has already serialised as given, and the same text as serialising them again", () => {
    const content = { z: [1.5, -0, 3], a: { y: "é", b: null } };
    const signed = { signature: "c2ln", content, fingerprint: "ab" };
    expect(canonicalJson(signed, new Map([[content, canonicalJson(content)]]))).toBe(canonicalJson(signed));
    expect(canonicalJson(signed)).toBe('{"content":{"a":{"b":null,"y":"é"},"z":[1.5,0,3]},"fingerprint":"ab","signature":"c2ln"}');
    expect(canonicalJson({ x: content }, new Map([[content, "S"]]))).toBe('{"x":S}');
  });

  it("omits undefined object members and writes no whitespace", () => {
    expect(canonicalJson({ z: 1, a: undefined, m: { y: [1, "x"], b: null } })).toBe('{"m":{"b":null,"y":[1,"x"]},"z":1}');
  });
});
