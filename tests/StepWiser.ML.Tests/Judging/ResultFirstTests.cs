using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Judging;

[TestClass]
public sealed class ResultFirstTests
{
    private const string Problem = "Start with 16. Multiply by 9. Add 88. Set the second digit to 6. Divide by 3. Work digit by digit modulo 10.";

    [TestMethod]
    public void WorldClaimIsTheResultTheStepStatesAndItsExpectedValueComesFromTheVisibleText()
    {
        // Equation: the result after "=", recomputed from the step's own operands (94+88 → 72), whatever it states.
        var wrong = new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=74");
        Assert.AreEqual("74", wrong.Chunk[StepVerification.Claim(wrong.Chunk)!.Value]);
        Assert.AreEqual("72", StepVerification.ExpectedClaim(wrong));
        // Set line: the input with the instruction's digit set.
        var set = new JudgeInput(Problem, ["Add 88.\n\n94+88=72"], "Set the second digit to 6.\n\n72->79");
        Assert.AreEqual("79", set.Chunk[StepVerification.Claim(set.Chunk)!.Value]);
        Assert.AreEqual("76", StepVerification.ExpectedClaim(set));
        // A division's check line: the product that must give back the input (only the forward table needed).
        var division = new JudgeInput(Problem, ["Set the second digit to 6.\n\n72->76"], "Divide by 3.\n\n76/3=92\n\nCheck: 92*3=76.");
        Assert.AreEqual("76", division.Chunk[StepVerification.Claim(division.Chunk)!.Value]);
        Assert.AreEqual("76", StepVerification.ExpectedClaim(division));
        Assert.AreEqual("9*3=7 2*3=6 76", StepVerification.ResultWork(division));
        Assert.AreEqual("9+8=7 4+8=2 72", StepVerification.ResultWork(wrong));
        Assert.AreEqual("76", StepVerification.ResultWork(set), "a set line has nothing to compute: its result alone");
        // The answer: the history's last value.
        var answer = new JudgeInput(Problem, ["Add 88.\n\n94+88=72"], "The answer is \\boxed{27}.");
        Assert.AreEqual("27", answer.Chunk[StepVerification.Claim(answer.Chunk)!.Value]);
        Assert.AreEqual("72", StepVerification.ExpectedClaim(answer));
        // A division without a check line and text that is not a step state nothing to compute first.
        Assert.IsNull(StepVerification.Claim("Divide by 3.\n\n76/3=92"));
        Assert.IsNull(StepVerification.Claim("I think so."));
        Assert.IsNull(StepVerification.ExpectedClaim(new JudgeInput(Problem, [], "I think so.")));
    }

    [TestMethod]
    public void TurnOneHidesTheClaimAndTurnTwoShowsItAfterTheJudgesOwnResult()
    {
        var template = StepVerification.ResultFirst;
        var input = new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=74");
        var one = template.TurnOne(input)!;
        StringAssert.EndsWith(one, "New step 2: Add 88. 94+88=\nAnalysis:");
        Assert.IsFalse(one.Contains("74", StringComparison.Ordinal), "turn 1 must not show the stated result");
        var two = template.TurnTwo.Render(input with { Reference = "9+8=7 4+8=2 72" });
        Assert.AreEqual(one + "9+8=7 4+8=2 72\nStated: 74\nCheck:", two);
        Assert.AreEqual("72", ResultFirstTemplate.OwnResult("9+8=7 4+8=2 72"));
        Assert.AreEqual("", ResultFirstTemplate.OwnResult("no idea"));
        Assert.AreEqual("77= 24!", ResultFirstTemplate.Pairs("72", "74"));
        Assert.AreEqual("77= 2_!", ResultFirstTemplate.Pairs("72", "7"));
        // In the policy's own text the cut step continues the policy's chunks, where the policy writes its results.
        var native = StepVerification.ResultFirstInPolicyContext.TurnOne(input)!;
        StringAssert.StartsWith(native, ArithmeticChainWorld.PolicyPrompt(Problem));
        StringAssert.EndsWith(native, StepWiser.ML.Chunking.ChunkParser.OpenTag + "Add 88.\n\n94+88=");
        StringAssert.Contains(native, "16*9=94");
        // A step stating no result is judged whole; one that states a result needs the judge's own.
        var plain = new JudgeInput(Problem, [], "Divide by 3.\n\n76/3=92");
        Assert.IsNull(template.TurnOne(plain));
        Assert.AreEqual(JudgeTemplate.Numbered.Render(plain) + "\nCheck:", template.TurnTwo.Render(plain));
        var error = Assert.ThrowsExactly<ArgumentException>(() => template.TurnTwo.Render(input));
        StringAssert.Contains(error.Message, "94+88=74");
    }

    [TestMethod]
    public void GenericLocatorFindsTheLastStatedNumber()
    {
        Assert.AreEqual("12", "So 3 * 4 = 12"[ResultFirstTemplate.LastResult("So 3 * 4 = 12")!.Value]);
        Assert.AreEqual("-2.5", "x = 1, so y = -2.5."[ResultFirstTemplate.LastResult("x = 1, so y = -2.5.")!.Value]);
        Assert.AreEqual("8", @"total 5+3=8, answer \boxed{8}"[ResultFirstTemplate.LastResult(@"total 5+3=8, answer \boxed{8}")!.Value]);
        Assert.IsNull(ResultFirstTemplate.LastResult("We add the two numbers."));
    }

    [TestMethod]
    public void TrainingExamplesUseTheComputedResultNeverTheLabelForTheAnalysis()
    {
        var template = StepVerification.ResultFirst;
        var steps = new[]
        {
            new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=74"),
            new JudgeInput(Problem, [], "Divide by 3.\n\n76/3=92"),
        };
        var analysis = template.AnalysisExamples(steps, StepVerification.ResultWork);
        Assert.AreEqual(2, analysis.Count, "the step without a claim is skipped");
        Assert.AreEqual("9+8=7 4+8=2 72", analysis[0].Response);
        StringAssert.EndsWith(analysis[1].Prompt, "94+88=\nAnalysis:9+8=7 4+8=2 72\nStated: 74\nCheck:");
        Assert.AreEqual(" 77= 24! differs", analysis[1].Response);
        var verdicts = template.VerdictExamples([new JudgeExample(steps[0], false), new JudgeExample(steps[1], true)], StepVerification.ResultWork);
        Assert.AreEqual(" 77= 24! differs " + VerdictParser.Format(false), verdicts[0].Response);
        Assert.AreEqual("77= 22= same", ResultFirstTemplate.Comparison("72", "72"));
        Assert.AreEqual(" " + VerdictParser.Format(true), verdicts[1].Response);
        StringAssert.EndsWith(verdicts[1].Prompt, "76/3=92\nAnalysis:\nCheck:");
    }

    [TestMethod]
    public async Task ScriptedMockJudgeWritesItsResultBeforeItSeesTheStatedOneAndCountsBothTurnsTokens()
    {
        var prompts = new List<string>();
        var generator = new Scripted(prompt =>
        {
            prompts.Add(prompt);
            return prompt.EndsWith("94+88=\nAnalysis:", StringComparison.Ordinal) ? "9+8=7 4+8=2 72\nmore" : prompt.Contains("Stated: 74", StringComparison.Ordinal) ? " 77= 24! \\boxed{Negative}" : " \\boxed{Positive}";
        });
        var judge = new ResultFirstJudge(generator, StepVerification.ResultFirst);
        var verdicts = await judge.JudgeStepsAsync(
        [
            new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=74"),
            new JudgeInput(Problem, [], "Divide by 3.\n\n76/3=92"),
        ]);
        Assert.IsFalse(verdicts[0].Positive);
        Assert.IsTrue(verdicts[1].Positive);
        StringAssert.StartsWith(verdicts[0].Rationale, "9+8=7 4+8=2 72 |", "turn 1 is kept up to its first line break");
        Assert.AreEqual(19 + 25, verdicts[0].GeneratedTokens, "both turns' tokens are counted (one token per character here)");
        Assert.AreEqual(3, prompts.Count, "one turn-1 call for the step with a claim, two turn-2 calls");
        Assert.IsFalse(prompts[0].Contains("=74", StringComparison.Ordinal));
        StringAssert.EndsWith(prompts[1], "9+8=7 4+8=2 72\nStated: 74\nCheck:");
    }

    [TestMethod]
    public async Task SelfDistilledLinesAreTheModelsOwnTurnOneKeyedByPromptAndEmptyElsewhereScriptedMock()
    {
        var calls = 0;
        var generator = new Scripted(prompt => { calls++; return prompt.EndsWith("94+88=\nAnalysis:", StringComparison.Ordinal) ? "9+8=7 4+8=2 72\nmore" : "0"; });
        var template = StepVerification.ResultFirst;
        var claimed = new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=74");
        var lines = await template.SelfDistilledAsync(generator, [claimed, new JudgeInput(Problem, [], "Divide by 3.\n\n76/3=92")]);
        Assert.AreEqual(1, calls, "turn 1 only for the step that states a result");
        Assert.AreEqual("9+8=7 4+8=2 72", lines(claimed));
        Assert.AreEqual("9+8=7 4+8=2 72", lines(claimed with { Chunk = "Add 88.\n\n94+88=99" }), "keyed by turn 1's prompt, which never shows the stated result");
        Assert.AreEqual("", lines(new JudgeInput(Problem, [], "Add 1.\n\n1+1=2")), "a step not given has no line");
    }

    [TestMethod]
    public async Task AStepwiseJudgeOverTurnTwoRunsTurnOneOnlyWhereTheStepCarriesNoLineScriptedMock()
    {
        var prompts = new List<string>();
        var generator = new Scripted(prompt => { prompts.Add(prompt); return prompt.EndsWith("Check:", StringComparison.Ordinal) ? " \\boxed{Positive}" : "72"; });
        var template = StepVerification.ResultFirst;
        Assert.AreSame(template, template.TurnTwo.ResultFirst);
        Assert.IsNull(JudgeTemplate.Numbered.ResultFirst);
        var judge = new StepwiseJudge(generator, template.TurnTwo);
        var step = new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=74");
        var verdicts = await judge.JudgeStepsAsync([step, step with { Reference = "given" }]);
        Assert.AreEqual(3, prompts.Count, "one turn 1 (the step without a line) and two turn 2");
        StringAssert.EndsWith(prompts[1], "72\nStated: 74\nCheck:");
        StringAssert.EndsWith(prompts[2], "given\nStated: 74\nCheck:");
        Assert.AreEqual(2 + 17, verdicts[0].GeneratedTokens);
        Assert.AreEqual(17, verdicts[1].GeneratedTokens);
    }

    [TestMethod]
    public void TheRecipeTrainerRefusesAResultFirstVerdictStageWithoutTurnOneLines()
    {
        using var model = StepWiser.ML.Models.ModelBundle.BuiltIn(StepWiser.ML.Models.CausalLM.CreateRandom(StepWiser.ML.Models.BuiltInModels.Tiny, seed: 1));
        var options = new StepwiseJudgeTrainerOptions
        {
            Model = model, Template = StepVerification.ResultFirst.TurnTwo,
            Recipe = new JudgeRecipeOptions { Stages = JudgeRecipeStages.Verdicts },
        };
        var error = Assert.ThrowsExactly<ArgumentException>(options.Validate);
        StringAssert.Contains(error.Message, "turn-1 lines");
    }

    [TestMethod]
    public void GrpoThatSamplesTurnOneTrainsBothTurnsFromStepsWithoutLines()
    {
        using var model = StepWiser.ML.Models.CausalLM.CreateRandom(StepWiser.ML.Models.BuiltInModels.Tiny, seed: 2);
        var tokenizer = StepWiser.ML.Tokenization.BuiltInTokenizer.Create();
        var template = StepVerification.ResultFirst;
        JudgeExample[] steps =
        [
            new(new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=74"), false),
            new(new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=72"), true),
        ];
        var options = new GrpoOptions { Steps = 2, PromptsPerStep = 2, GroupSize = 3, MiniBatchSize = 8, MaxNewTokens = 6, FormatPenalty = 0.5, Seed = 1 };
        // Without sampling turn 1, turn 2 needs each step's line: the steps as they are cannot be trained.
        Assert.ThrowsExactly<ArgumentException>(() => new GrpoTrainer(model, tokenizer, template.TurnTwo, options).Train(steps));
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.clone());
        var metrics = new GrpoTrainer(model, tokenizer, template.TurnTwo, options with { SampleTurnOne = true }).Train(steps);
        Assert.HasCount(2, metrics);
        // Each response's length counts both turns: turn 1 (up to 32 tokens or its line break) and turn 2 (up to 6).
        Assert.IsTrue(metrics.Any(m => m.ResponseLength > options.MaxNewTokens), string.Join(", ", metrics.Select(m => m.ResponseLength)));
        if (metrics.Any(m => m.ZeroAdvantageShare < 1))
            Assert.IsTrue(model.named_parameters().Any(p => !p.parameter.equal(before[p.name]).all().item<bool>()), "a group with a learning signal updates the judge");
        foreach (var t in before.Values) t.Dispose();
    }

    [TestMethod]
    public void RejectionSamplingThatSamplesTurnOneKeepsBothTurnsOfRightResponsesWithAScriptedMockJudge()
    {
        var template = StepVerification.ResultFirst;
        var right = new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=72");
        var wrong = new JudgeInput(Problem, ["Multiply by 9.\n\n16*9=94"], "Add 88.\n\n94+88=74");
        var noResult = new JudgeInput(Problem, ["Add 88.\n\n94+88=72"], "I think so.");
        JudgeExample[] steps = [new(right, true), new(wrong, true), new(noResult, false)];
        var firstPrompts = steps.Select(s => template.TurnOne(s.Input)).OfType<string>().ToHashSet();
        // The mock writes "72" as its line (and more after the break), a verdict that follows it in turn 2, Negative
        // where there is nothing to compute.
        var judge = new Scripted(p => firstPrompts.Contains(p) ? "9+8=7 4+8=2 72\nmore"
            : p.Contains("Stated: 72", StringComparison.Ordinal) ? " same \\boxed{Positive}"
            : p.Contains("Stated:", StringComparison.Ordinal) ? " differs \\boxed{Negative}" : " \\boxed{Negative}");
        var kept = JudgeRecipe.KeptWithTurnOne(judge, template.TurnTwo, template, steps, new SamplingOptions { NumSamples = 1, MaxNewTokens = 8 }, seed: 1, CancellationToken.None);
        // The right step: turn 1's prompt with the line alone, then turn 2 over that line with its verdict. The wrong
        // step (labelled Positive, judged Negative) keeps nothing; the step without a result keeps its one-turn response.
        var expectedTwo = template.TurnTwo.Render(right with { Reference = "9+8=7 4+8=2 72" });
        CollectionAssert.AreEquivalent(new[]
        {
            new StepWiser.ML.Training.SftExample(template.TurnOne(right)!, "9+8=7 4+8=2 72"),
            new StepWiser.ML.Training.SftExample(expectedTwo, " same \\boxed{Positive}"),
            new StepWiser.ML.Training.SftExample(template.TurnTwo.Render(noResult), " \\boxed{Negative}"),
        }, kept);
    }

    private sealed class Scripted(Func<string, string> answer) : ITextGenerator
    {
        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            IReadOnlyList<GenerationResult> results = requests.Select(r =>
            {
                var text = answer(r.Prompt!);
                return new GenerationResult([new GeneratedSample(text, Enumerable.Range(0, text.Length).ToArray(), FinishReason.EndOfSequence)]);
            }).ToArray();
            return Task.FromResult(results);
        }
    }
}
