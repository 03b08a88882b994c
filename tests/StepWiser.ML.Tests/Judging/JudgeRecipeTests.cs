using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Worlds;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Judging;

[TestClass]
public sealed class JudgeRecipeTests
{
    [TestMethod]
    public void CompareAnalysisFindsTheNextInstructionRecomputesItFromTheHistoryAndCompares()
    {
        const string problem = "Start with 07. Add 13. Subtract 62. Work digit by digit modulo 10.";
        Assert.AreEqual("After Start with 07. comes Add 13. 07+13=10. Step: Add 13. 07+13=10. Same.",
            WorldJudging.CompareAnalysis(new JudgeInput(problem, [], "Add 13.\n\n07+13=10")));
        // The arithmetic is consistent but the instruction is not the problem's second one: only re-reading the problem finds it.
        Assert.AreEqual("After Add 13. comes Subtract 62. 10-62=58. Step: Add 62. 10+62=72. Different.",
            WorldJudging.CompareAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10"], "Add 62.\n\n10+62=72")));
        Assert.EndsWith("Same.", WorldJudging.CompareAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10"], "10-62=58")), "the instruction line is optional");
        // Worked from the history's value, never from the true chain: after a wrong step the analysis builds on it.
        Assert.AreEqual("After Add 13. comes Subtract 62. 11-62=59. Step: Subtract 62. 11-62=59. Same.",
            WorldJudging.CompareAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=11"], "Subtract 62.\n\n11-62=59")));
        Assert.AreEqual("After Subtract 62. comes the answer: \\boxed{58}. Step: The answer is \\boxed{58}. Same.",
            WorldJudging.CompareAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10", "Subtract 62.\n\n10-62=58"], "The answer is \\boxed{58}.")));
        Assert.EndsWith("Different.", WorldJudging.CompareAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10", "Subtract 62.\n\n10-62=58"], "The answer is \\boxed{85}.")));
    }

    [TestMethod]
    public void CheckAnalysisCopiesTheNumberedSentenceAndChecksEachPartWhereItIsWritten()
    {
        const string problem = "Start with 07. Add 13. Subtract 62. Work digit by digit modulo 10.";
        Assert.AreEqual("(2) Add 13. Step: Add 13, same. 07+13=10. Step: 07+13=10, same. Same.",
            WorldJudging.CheckAnalysis(new JudgeInput(problem, [], "Add 13.\n\n07+13=10")));
        // A wrong instruction with consistent arithmetic: both parts differ from what sentence (3) gives.
        Assert.AreEqual("(3) Subtract 62. Step: Add 62, different. 10-62=58. Step: 10+62=72, different. Different.",
            WorldJudging.CheckAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10"], "Add 62.\n\n10+62=72")));
        // The right instruction, a wrong value: only the equation differs.
        Assert.AreEqual("(3) Subtract 62. Step: Subtract 62, same. 10-62=58. Step: 10-62=59, different. Different.",
            WorldJudging.CheckAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10"], "Subtract 62.\n\n10-62=59")));
        Assert.AreEqual("(3) Subtract 62. 10-62=58. Step: 10-62=58, same. Same.",
            WorldJudging.CheckAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10"], "10-62=58")), "the instruction line is optional");
        Assert.AreEqual("(4) Work digit by digit modulo 10. The answer is \\boxed{58}. Step: The answer is \\boxed{58}, same. Same.",
            WorldJudging.CheckAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10", "Subtract 62.\n\n10-62=58"], "The answer is \\boxed{58}.")));
        Assert.EndsWith("Step: The answer is \\boxed{85}, different. Different.",
            WorldJudging.CheckAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10", "Subtract 62.\n\n10-62=58"], "The answer is \\boxed{85}.")));
        Assert.EndsWith("Step: Add 5, different. Different.", WorldJudging.CheckAnalysis(new JudgeInput(problem, ["Add 13.\n\n07+13=10", "Subtract 62.\n\n10-62=58"], "Add 5.")),
            "a step after the last instruction that does not state the answer");
        // Its conclusion is the compare analysis's on every step of a few hundred generated solutions, right or wrong.
        var world = new ArithmeticChainWorld();
        var random = new Random(5);
        int checkedSteps = 0, different = 0;
        foreach (var p in world.Generate("train", 150, 1))
        {
            var chunks = p.Chunks.ToArray();
            if (random.Next(2) == 0) chunks[random.Next(chunks.Length)] = random.Next(3) switch
            {
                0 => "Add 11.\n\n00+11=11",
                1 => chunks[0].Replace('1', '2'),
                _ => "The answer is \\boxed{00}.",
            };
            for (int k = 0; k < chunks.Length; k++, checkedSteps++)
            {
                var input = new JudgeInput(p.Problem, chunks.Take(k).ToArray(), chunks[k]);
                bool same = WorldJudging.CheckAnalysis(input).EndsWith("Same.", StringComparison.Ordinal);
                Assert.AreEqual(WorldJudging.CompareAnalysis(input).EndsWith("Same.", StringComparison.Ordinal), same, $"{p.Problem} | {string.Join(" | ", chunks.Take(k + 1))}");
                if (!same) different++;
            }
        }
        Assert.IsTrue(different > 50 && checkedSteps - different > 300, $"{different} different of {checkedSteps}");
    }

    [TestMethod]
    public void NumberedTemplateNumbersTheProblemsSentencesAndTheSteps()
    {
        var prompt = JudgeTemplate.Numbered.Render(new JudgeInput("Start with 07. Add 13? Subtract 62! Work modulo 10.", ["Add 13.\n\n07+13=10"], "Subtract 62.\n\n10-62=58"));
        Assert.AreEqual("Judge the new step.\nProblem:\n(1) Start with 07.\n(2) Add 13?\n(3) Subtract 62!\n(4) Work modulo 10.\nHistory:\nStep 1: Add 13. 07+13=10\nNew step 2: Subtract 62. 10-62=58\nAnalysis:", prompt);
        StringAssert.Contains(JudgeTemplate.Numbered.Render(new JudgeInput("One.", [], "x")), "History:\n(none)\nNew step 1: x\n");
        Assert.AreSame(JudgeTemplate.Numbered, JudgeTemplate.FromName("numbered"));
    }

    [TestMethod]
    public void RederivationAnalysisQuotesBothStepsAndLooksUpOnlyWhatWasComputed()
    {
        Assert.AreEqual("Expected: Add 3. 1+3=4. Step: Add 3. 1+3=4. Same.", RederivationAnalysis.Format("Add 3.\n\n1+3=4", "Add 3.\n\n1+3=4"));
        Assert.AreEqual("Expected: ?. Step: Add 3. 1+3=0. Different.", RederivationAnalysis.Format("", "Add 3.\n\n1+3=0"));
        Assert.AreEqual(RederivationAnalysis.MaxQuoteLength, RederivationAnalysis.Flatten(new string('x', 500)).Length);
        Assert.AreEqual("Start with 1.\n<chunk>a</chunk>\n\n<chunk>b</chunk>\n\n", RederivationAnalysis.ChunkedPrefix("Start with 1.\n", ["a", "b"]));
        var known = new JudgeInput("p", ["a"], "b");
        var lookup = RederivationAnalysis.Lookup([known], ["Expected: b. Step: b. Same."]);
        Assert.AreEqual("Expected: b. Step: b. Same.", lookup(new JudgeInput("p", ["a"], "b")));
        var error = Assert.ThrowsExactly<KeyNotFoundException>(() => lookup(new JudgeInput("p", [], "b")));
        StringAssert.Contains(error.Message, "history of 0 chunks");
    }

    [TestMethod]
    public void StepSelectionKeepsEachSolutionsStepsUpToItsFirstNegative()
    {
        var solution = new StepwiseExample("p", ["a", "b", "c", "d"], [true, false, false, true]);
        var upTo = JudgeRecipe.SelectSteps([solution], StepSelection.UpToFirstNegative);
        CollectionAssert.AreEqual(new[] { "a", "b" }, upTo.Select(e => e.Input.Chunk).ToArray());
        CollectionAssert.AreEqual(new[] { true, false }, upTo.Select(e => e.Label).ToArray());
        Assert.HasCount(4, JudgeRecipe.SelectSteps([solution], StepSelection.AllSteps));
        Assert.HasCount(2, JudgeRecipe.SelectSteps([new StepwiseExample("p", ["a", "b"], [true, true])], StepSelection.UpToFirstNegative), "an all-positive solution keeps every step");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new JudgeRecipeOptions { WarmupSteps = 0 }.Validate());
        Assert.ThrowsExactly<ArgumentException>(() => JudgeRecipe.WarmUp(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1), BuiltInTokenizer.Create(), JudgeTemplate.Compact,
            [new JudgeExample(new JudgeInput("p", [], "a"), true)], null), "one class only");
    }

    [TestMethod]
    public void TemperedLogProbsAreThoseOfTheDistributionSampledFrom()
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
        model.eval();
        var tokenizer = BuiltInTokenizer.Create();
        var engine = new LocalTextGenerator(model, tokenizer);
        var prompt = tokenizer.EncodeToIds("Start with 3. Add 4.").ToArray();
        var sampling = new SamplingOptions { MaxNewTokens = 6, Temperature = 0.5f, Seed = 4, ReturnLogProbs = true };
        var plain = engine.Generate([new GenerationRequest { PromptTokenIds = prompt, Options = sampling }])[0].Samples[0];
        var tempered = engine.Generate([new GenerationRequest { PromptTokenIds = prompt, Options = sampling with { TemperedLogProbs = true } }])[0].Samples[0];
        CollectionAssert.AreEqual(plain.TokenIds.ToArray(), tempered.TokenIds.ToArray(), "the option changes what is reported, not what is sampled");
        using var noGrad = no_grad();
        var ids = prompt.Concat(tempered.TokenIds).Select(x => (long)x).ToArray();
        var logits = model.Forward(tensor(ids).view(1, ids.Length))[0].to(ScalarType.Float32);
        for (var t = 0; t < tempered.TokenIds.Count; t++)
        {
            var row = logits[prompt.Length - 1 + t];
            var token = tempered.TokenIds[t];
            Assert.AreEqual((row / 0.5f).log_softmax(-1)[token].item<float>(), tempered.LogProbs![t], 1e-4, $"tempered log-prob of token {t}");
            Assert.AreEqual(row.log_softmax(-1)[token].item<float>(), plain.LogProbs![t], 1e-4, $"temperature-1 log-prob of token {t}");
        }
    }
}
