// Asks the broker for its cluster metadata with the real Java client (kafka-clients is in lib/), so
// "ready" means the broker answers requests, not merely that its port accepts connections.
// Run by kafka.sh as a single-file program: java -cp 'lib/*' Probe.java 127.0.0.1:9092 [timeoutMs]
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;

public class Probe {
  public static void main(String[] args) throws Exception {
    String bootstrap = args.length > 0 ? args[0] : "127.0.0.1:9092";
    int timeoutMs = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "tickline-kafka-probe");
    try (Admin admin = Admin.create(p)) {
      DescribeClusterResult r = admin.describeCluster();
      String id = r.clusterId().get(timeoutMs, TimeUnit.MILLISECONDS);
      int brokers = r.nodes().get(timeoutMs, TimeUnit.MILLISECONDS).size();
      // Topic creation needs an active controller; a broker that has none yet is not ready for tests.
      if (r.controller().get(timeoutMs, TimeUnit.MILLISECONDS) == null || brokers == 0) {
        System.out.println("no controller or brokers yet");
        System.exit(1);
      }
      System.out.println("cluster " + id + ", " + brokers + " broker(s)");
    } catch (Exception e) {
      System.out.println("not ready: " + e.getClass().getSimpleName() + ": " + e.getMessage());
      System.exit(1);
    }
  }
}
