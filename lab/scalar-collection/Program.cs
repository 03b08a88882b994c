// Lab repro of KeptScalars: TorchSharp tensor additions under a thread that collects garbage without pause.
// implicit: a + b (TorchSharp makes and drops a Scalar alpha per call); scoped: the same inside a dispose scope;
// explicit: a.add(b, one) with a Scalar kept alive. Usage: dotnet run --project lab/scalar-collection -c Release -- MODE SECONDS
using System;
using System.Threading;
using TorchSharp;
using static TorchSharp.torch;
StepWiser.ML.Native.TorchSharpNative.EnsureLoadable();
var mode = args[0];
var seconds = int.Parse(args[1]);
var a = randn(64); var b = randn(64);
var one = 1.ToScalar();
var stop = false;
var gc = new Thread(() => { while (!stop) { GC.Collect(); GC.WaitForPendingFinalizers(); } }) { IsBackground = true };
gc.Start();
var clock = System.Diagnostics.Stopwatch.StartNew();
long n = 0;
try
{
    while (clock.Elapsed.TotalSeconds < seconds)
    {
        using var scope = mode == "scoped" ? torch.NewDisposeScope() : null;
        using var c = mode == "implicit" || mode == "scoped" ? a + b : a.add(b, one);
        n++;
    }
    Console.WriteLine($"{mode}: {n} adds, no error");
}
catch (Exception e) { Console.WriteLine($"{mode}: failed after {n} adds: {e.Message[..Math.Min(120, e.Message.Length)]}"); }
stop = true;
