// Publishes the Quest 3's tracked hand skeletons to dexsim through Unity's ROS-TCP-Connector (ROS 2 mode).
//
// One std_msgs/Float32MultiArray per hand and frame, on its own topic, with an empty layout and
//   78 floats: 26 joints x (x, y, z) positions, m, or
//   182 floats: 26 joints x (x, y, z, qx, qy, qz, qw) with SendRotations,
// in XRHandJointID.ToIndex() order (wrist 0, palm 1, thumb 2-5, index 6-10, middle 11-15, ring 16-20,
// little 21-25) and Unity's own frame (left-handed: x right, y up, z forward), relative to the XR origin.
// dexsim converts order and frame (dexsim.teleop.skeleton.parse_hand_array). A hand that is not tracked is not
// sent (the robot holds); a joint without a pose is sent as NaN (the frame is then rejected and the robot holds).
// tests/teleop/test_quest_format.py pins these bytes.
using System.Collections.Generic;
using RosMessageTypes.Std;
using Unity.Robotics.ROSTCPConnector;
using UnityEngine;
using UnityEngine.XR.Hands;

public class HandSkeletonPublisher : MonoBehaviour
{
    public const int JointCount = 26;               // XRHandJointID.EndMarker.ToIndex()
    public string RightTopic = "/dexsim/hand/right";
    public string LeftTopic = "/dexsim/hand/left";
    public bool SendRotations = false;              // 182 instead of 78 floats
    public float MaxRateHz = 90f;                   // Quest 3 hand tracking runs at up to 90 Hz

    ROSConnection ros;
    XRHandSubsystem subsystem;
    float nextSend;

    void Start()
    {
        ros = ROSConnection.GetOrCreateInstance();  // ROS Settings: Protocol ROS2, the PC's address, port 10000
        ros.RegisterPublisher<Float32MultiArrayMsg>(RightTopic);
        ros.RegisterPublisher<Float32MultiArrayMsg>(LeftTopic);
    }

    void Update()
    {
        if (subsystem == null || !subsystem.running)
        {
            var found = new List<XRHandSubsystem>();
            SubsystemManager.GetSubsystems(found);
            subsystem = found.Count > 0 ? found[0] : null;
            if (subsystem == null) return;
        }
        if (Time.unscaledTime < nextSend) return;
        nextSend = Time.unscaledTime + 1f / MaxRateHz;
        Publish(subsystem.rightHand, RightTopic);
        Publish(subsystem.leftHand, LeftTopic);
    }

    void Publish(XRHand hand, string topic)
    {
        if (!hand.isTracked) return;
        int stride = SendRotations ? 7 : 3;
        var data = new float[JointCount * stride];
        for (int i = 0; i < JointCount; i++)
        {
            int k = i * stride;
            if (!hand.GetJoint(XRHandJointIDUtility.FromIndex(i)).TryGetPose(out Pose pose))
            {
                for (int j = 0; j < stride; j++) data[k + j] = float.NaN;
                continue;
            }
            data[k] = pose.position.x;
            data[k + 1] = pose.position.y;
            data[k + 2] = pose.position.z;
            if (SendRotations)
            {
                data[k + 3] = pose.rotation.x;
                data[k + 4] = pose.rotation.y;
                data[k + 5] = pose.rotation.z;
                data[k + 6] = pose.rotation.w;
            }
        }
        ros.Publish(topic, new Float32MultiArrayMsg { data = data });  // layout: no dims, data_offset 0
    }
}
