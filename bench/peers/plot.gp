# Plots muninn-peers' data file (bench/peers/run passes data= and out=):
# left, throughput per system and workload; right, single-event latency
# percentiles. Log scales: the systems differ by orders of magnitude.
set terminal pngcairo size 1400,560 font "sans,10"
set output out
set datafile separator "\t"
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics
set key top right
set xtics nomirror
set multiplot layout 1,2
set title "Throughput (events/s, higher is better)"
set format y "%.0s%c"
plot data using 2:xtic(1) title "durable produce", \
     '' using 3 title "append expected version", \
     '' using 4 title "replay 5M"
set title "Single event at 1,000/s: latency (us, lower is better)"
set format y "%g"
plot data using 5:xtic(1) title "p50", \
     '' using 6 title "p99", \
     '' using 7 title "p999"
unset multiplot
