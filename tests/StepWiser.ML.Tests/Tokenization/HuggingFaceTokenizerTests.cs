using StepWiser.ML.Tokenization;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Tokenization;

[TestClass]
public sealed class HuggingFaceTokenizerTests
{
    [TestMethod]
    public void QwenTokenizerEncodesKnownIdsAndRoundTrips()
    {
        var tokenizer = HuggingFaceTokenizer.Load(TestData.PathOf("tokenizers", "qwen3", "tokenizer.json"));
        CollectionAssert.AreEqual(new[] { 9707, 1879 }, tokenizer.EncodeToIds("Hello world").ToArray());
        var withSpecial = tokenizer.EncodeToIds("<|im_start|>user\nHi<|im_end|>").ToArray();
        Assert.AreEqual(151644, withSpecial[0]);
        Assert.AreEqual(151645, withSpecial[^1]);
        foreach (var text in new[] { "a  b\n\n  c\t", "Ünïcödé ✓ 数学 😀", "x = \\frac{1}{2}\n\n12345678901234" })
            Assert.AreEqual(text, tokenizer.Decode(tokenizer.EncodeToIds(text)));
    }
}
